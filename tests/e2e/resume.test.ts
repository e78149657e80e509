/**
 * Never miss a message: the open chat resumes after the network goes away for longer than the
 * keepalive (Chromium's offline mode, no socket close is ever seen), after the server process
 * restarts, and while the page is frozen in the background; the outbox sends what was typed
 * offline, in order, once, also across a reload.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailability, buildClient, eventually, launchBrowser, screenshot } from './browser.js';
import { freePort, serverProcess, type ServerProcess } from './server-process.js';

const { run } = browserAvailability();
const suffix = Math.random().toString(36).slice(2, 7);
const alice = { username: `ann_${suffix}`, password: 'ann-password' };
const bob = { username: `ben_${suffix}`, password: 'ben-password' };
const WAIT = { timeout: 20_000 };
/** Client keepalive for these pages: a dead socket is noticed within ~2 s instead of ~20 s. */
const KEEPALIVE = { intervalMs: 1_000, pongTimeoutMs: 1_000 };
/** Offline for clearly longer than the keepalive window. */
const OFFLINE_MS = 5_000;

/**
 * Before the app loads: the short keepalive, and a switch (kept in sessionStorage, so it
 * survives a reload) that points new WebSockets at a closed port, as when the server is down.
 */
const INIT_SCRIPT = `(() => {
  window.__realtimeOptions = { keepAlive: ${JSON.stringify(KEEPALIVE)} };
  const Native = window.WebSocket;
  window.__socketsCreated = 0;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(sessionStorage.getItem('e2e-block-sockets') === '1' ? 'ws://127.0.0.1:9/blocked' : url, protocols);
      window.__socketsCreated += 1;
    }
  };
})();`;

describe.skipIf(!run)('never miss a message (Chromium, two users, a server process)', () => {
  let server: ServerProcess;
  let dataDir: string;
  let browser: Browser;
  let contextA: BrowserContext;
  let contextB: BrowserContext;
  let pageA: Page;
  let pageB: Page;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'resume-e2e-'));
    await buildClient();
    server = serverProcess(await freePort(), path.join(dataDir, 'chat.sqlite'));
    await server.start();
    browser = await launchBrowser();
    contextA = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    contextB = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    for (const context of [contextA, contextB]) await context.addInitScript(INIT_SCRIPT);
    pageA = await contextA.newPage();
    pageB = await contextB.newPage();
    for (const page of [pageA, pageB]) page.on('pageerror', (error) => console.error('[page error]', error));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const composer = (page: Page) => page.getByLabel('Message', { exact: true });
  const theirs = (page: Page) => page.locator('.message.theirs .bubble');

  async function register(page: Page, user: typeof alice) {
    await page.goto(server.url);
    await page.getByRole('button', { name: 'New here? Create an account' }).click();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.me', { hasText: user.username }).waitFor(WAIT);
  }

  async function send(page: Page, texts: string[]) {
    for (const text of texts) {
      await composer(page).fill(text);
      await composer(page).press('Enter');
    }
  }

  /** Every text shows exactly once, in this order, among the other user's messages. */
  async function expectReceivedInOrder(page: Page, texts: string[]) {
    await eventually(async () => {
      const shown = await theirs(page).allTextContents();
      expect(shown.filter((text) => texts.includes(text))).toEqual(texts);
    }, 30_000);
  }

  const socketsCreated = (page: Page) => page.evaluate(() => (window as unknown as { __socketsCreated: number }).__socketsCreated);

  async function waitOnline(page: Page) {
    await page.locator('.conn-online').waitFor(WAIT);
  }

  it('sets up a direct chat open on both sides', async () => {
    await register(pageA, alice);
    await register(pageB, bob);
    await pageA.getByLabel('Find people').fill(bob.username);
    await pageA.getByRole('button', { name: `Chat with ${bob.username}` }).click();
    await pageA.getByRole('heading', { name: bob.username }).waitFor(WAIT);
    await send(pageA, ['Hi Ben']);
    await pageB.locator('.conversation', { hasText: alice.username }).first().click(WAIT);
    await theirs(pageB).filter({ hasText: 'Hi Ben' }).waitFor(WAIT);
    await pageB.reload();
    // The per-chat URL brings the same chat back after a reload.
    await theirs(pageB).filter({ hasText: 'Hi Ben' }).waitFor(WAIT);
    // A's chat freshly loaded from history, with no live event since: the case that once
    // subscribed "from now" (lastEventId null) and so could not resume.
    await pageA.reload();
    await pageA.locator('.message.mine .bubble', { hasText: 'Hi Ben' }).waitFor(WAIT);
    await waitOnline(pageA);
  });

  it('network gone for longer than the keepalive: the open chat gets all 5 messages, once, in order', async () => {
    const socketsBefore = await socketsCreated(pageA);
    await contextA.setOffline(true);
    await pageA.locator('.conn-online').waitFor({ state: 'detached', timeout: 20_000 });
    // No close event ever comes: the keepalive notices the dead socket, and the client gives up
    // on it and starts reconnecting (a new socket) while still offline.
    await eventually(async () => expect(await socketsCreated(pageA)).toBeGreaterThan(socketsBefore), 20_000);
    // Our own connection is down: the peer's presence is unknown, not a stale "online".
    await pageA.locator('[data-testid="peer-presence"][data-state="unknown"]').waitFor(WAIT);
    await pageA.waitForTimeout(OFFLINE_MS);
    const texts = [1, 2, 3, 4, 5].map((n) => `offline ${n}`);
    await send(pageB, texts);
    await pageB.locator('.message.mine[data-seq]', { hasText: 'offline 5' }).waitFor(WAIT);
    expect(await theirs(pageA).filter({ hasText: /^offline \d$/ }).count()).toBe(0);
    await screenshot(pageA, 'resume-offline-while-away');
    await contextA.setOffline(false);
    await expectReceivedInOrder(pageA, texts);
    await waitOnline(pageA);
    await pageA.locator('[data-testid="peer-presence"][data-state="online"]').waitFor(WAIT);
    // The conversation list resumed too: its preview shows the newest message.
    await pageA.locator('.conversation', { hasText: bob.username }).locator('.conversation-last', { hasText: 'offline 5' }).waitFor(WAIT);
    await screenshot(pageA, 'resume-after-network-drop');
  });

  it('server process restarted: the chat resumes from its newest seq', { timeout: 120_000 }, async () => {
    // Keep A's socket from coming back until B's messages are stored, so they must be replayed.
    await pageA.evaluate(() => sessionStorage.setItem('e2e-block-sockets', '1'));
    await server.stop();
    const texts = [1, 2, 3, 4, 5].map((n) => `restart ${n}`);
    // B writes while the server is down: the outbox keeps them pending…
    await send(pageB, texts);
    await pageB.locator('.message.pending', { hasText: 'restart 5' }).waitFor(WAIT);
    await screenshot(pageB, 'outbox-server-down');
    await server.start();
    // …and sends them when it is back.
    await pageB.locator('.message.mine[data-seq]', { hasText: 'restart 5' }).waitFor({ timeout: 30_000 });
    expect(await pageB.locator('.message.pending').count()).toBe(0);
    await pageA.evaluate(() => sessionStorage.removeItem('e2e-block-sockets'));
    await expectReceivedInOrder(pageA, texts);
    await screenshot(pageA, 'resume-after-server-restart');
  });

  it('page in the background (frozen) while the network drops: everything arrives once', async () => {
    const cdp = await contextA.newCDPSession(pageA);
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    await contextA.setOffline(true);
    const texts = [1, 2, 3, 4, 5].map((n) => `background ${n}`);
    await send(pageB, texts);
    await pageB.locator('.message.mine[data-seq]', { hasText: 'background 5' }).waitFor(WAIT);
    await pageA.waitForTimeout(OFFLINE_MS);
    await contextA.setOffline(false);
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await expectReceivedInOrder(pageA, texts);
    await screenshot(pageA, 'resume-after-background');
  });

  it('outbox: three messages typed offline are sent after reconnecting, in order, once each', async () => {
    await waitOnline(pageA);
    await contextA.setOffline(true);
    const texts = ['typed offline 1', 'typed offline 2', 'typed offline 3'];
    await send(pageA, texts);
    await expect.poll(() => pageA.locator('.message.pending').count(), WAIT).toBe(3);
    await screenshot(pageA, 'outbox-pending');
    await contextA.setOffline(false);
    await expectReceivedInOrder(pageB, texts);
    await expect.poll(() => pageA.locator('.message.pending').count(), WAIT).toBe(0);
    for (const text of texts) expect(await pageA.locator('.message.mine .bubble', { hasText: text }).count()).toBe(1);
  });

  it('outbox: a reload while the server is unreachable keeps them pending, and they go out later', async () => {
    // Unreachable API and socket, while the page itself still loads (as behind a failing proxy).
    await contextA.route('**/trpc/**', (route) => route.abort('connectionrefused'));
    await pageA.evaluate(() => sessionStorage.setItem('e2e-block-sockets', '1'));
    const texts = ['kept 1', 'kept 2', 'kept 3'];
    await send(pageA, texts);
    await expect.poll(() => pageA.locator('.message.pending').count(), WAIT).toBe(3);
    await pageA.reload();
    await pageA.getByText('3 messages waiting to be sent').waitFor(WAIT);
    await screenshot(pageA, 'outbox-after-reload');
    await contextA.unroute('**/trpc/**');
    await pageA.evaluate(() => sessionStorage.removeItem('e2e-block-sockets'));
    await expectReceivedInOrder(pageB, texts);
    await pageA.getByText(/messages? waiting to be sent/).waitFor({ state: 'detached', timeout: 30_000 });
    for (const text of texts) expect(await theirs(pageB).filter({ hasText: text }).count()).toBe(1);
  });
});
