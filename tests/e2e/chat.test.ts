/**
 * The web app end to end: a real server on an ephemeral port with a fresh database, the built
 * app, and two users in two Chromium contexts.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeServer } from '../../src/server/server.js';
import { browserAvailability, buildClient, eventually, launchBrowser, screenshot, SOCKET_CONTROL_SCRIPT, startServer } from './browser.js';

const { run } = browserAvailability();
const suffix = Math.random().toString(36).slice(2, 7);
const alice = { username: `alice_${suffix}`, password: 'alice-password' };
const bob = { username: `bob_${suffix}`, password: 'bob-password' };
const WAIT = { timeout: 15_000 };

describe.skipIf(!run)('web app in Chromium (two users)', () => {
  let server: RealtimeServer;
  let url: string;
  let browser: Browser;
  let contextA: BrowserContext;
  let contextB: BrowserContext;
  let pageA: Page;
  let pageB: Page;

  beforeAll(async () => {
    await buildClient();
    ({ app: server, url } = await startServer());
    browser = await launchBrowser();
    contextA = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    contextB = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    await contextA.addInitScript(SOCKET_CONTROL_SCRIPT);
    pageA = await contextA.newPage();
    pageB = await contextB.newPage();
    for (const page of [pageA, pageB]) page.on('pageerror', (error) => console.error('[page error]', error));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function register(page: Page, user: typeof alice) {
    await page.goto(url);
    await page.getByRole('button', { name: 'New here? Create an account' }).click();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.me', { hasText: user.username }).waitFor(WAIT);
  }

  const conversationButton = (page: Page, title: string) => page.locator('.conversation', { hasText: title }).first();
  const composer = (page: Page) => page.getByLabel('Message', { exact: true });

  it('registers two users and signs in again after signing out', async () => {
    await register(pageA, alice);
    await pageB.goto(url);
    await pageB.getByRole('button', { name: 'Sign in' }).waitFor(WAIT);
    // A wrong password is a readable error, not a blank screen.
    await pageB.getByLabel('Username').fill(alice.username);
    await pageB.getByLabel('Password').fill('wrong-password');
    await pageB.getByRole('button', { name: 'Sign in' }).click();
    await pageB.getByRole('alert').waitFor(WAIT);
    await screenshot(pageB, 'sign-in-error');
    await register(pageB, bob);

    await pageA.getByRole('button', { name: 'Sign out' }).click();
    await pageA.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    await pageA.getByLabel('Username').fill(alice.username);
    await pageA.getByLabel('Password').fill(alice.password);
    await pageA.getByRole('button', { name: 'Sign in' }).click();
    await pageA.locator('.me', { hasText: alice.username }).waitFor(WAIT);
    await pageA.locator('.conn-online').waitFor(WAIT);
    await screenshot(pageA, 'signed-in');
  });

  it('direct chat: B sees A typing, gets the message live, reads it, and A sees "Seen"', async () => {
    await pageA.getByLabel('Find people').fill(bob.username.slice(0, 6));
    await pageA.getByRole('button', { name: `Chat with ${bob.username}` }).click();
    await pageA.getByRole('heading', { name: bob.username }).waitFor(WAIT);

    // The new conversation reaches B's list live; B opens it.
    await conversationButton(pageB, alice.username).click(WAIT);
    await pageB.getByRole('heading', { name: alice.username }).waitFor(WAIT);

    await composer(pageA).click();
    await pageA.keyboard.type('Hello Bob, this is', { delay: 30 });
    await pageB.getByText(`${alice.username} is typing…`).waitFor(WAIT);
    await screenshot(pageB, 'typing-indicator');

    await pageA.keyboard.type(' live!');
    await pageA.keyboard.press('Enter');
    await pageB.locator('.message.theirs', { hasText: 'Hello Bob, this is live!' }).waitFor(WAIT);
    // Sending stops the indicator at once.
    await pageB.getByText('is typing…').waitFor({ state: 'detached', timeout: 10_000 });

    await pageA.locator('.message.mine .status', { hasText: 'Seen' }).waitFor(WAIT);
    await screenshot(pageA, 'direct-chat-seen');
    expect(await pageA.locator('.message', { hasText: 'Hello Bob, this is live!' }).count()).toBe(1);
  });

  it('groups: A creates a group and invites B, B sees it in the bell, accepts, and gets a group message', async () => {
    const groupName = `Weekend ${suffix}`;
    await pageA.getByLabel('Group name').fill(groupName);
    await pageA.getByRole('button', { name: 'Create group' }).click();
    await pageA.getByRole('heading', { name: groupName }).waitFor(WAIT);
    await pageA.getByRole('button', { name: 'Members' }).click();
    await pageA.getByLabel('Invite people').fill(bob.username);
    await pageA.getByRole('button', { name: `Invite ${bob.username}` }).click();
    await pageA.getByText(`Invitation sent to ${bob.username}.`).waitFor(WAIT);

    const bell = pageB.getByRole('button', { name: /^Notifications \(\d+ unread\)$/ });
    await eventually(async () => {
      const label = (await bell.getAttribute('aria-label')) ?? '';
      expect(Number(/\((\d+) unread\)/.exec(label)?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    });
    await bell.click();
    await pageB.getByRole('region', { name: 'Notifications' }).getByText(`${alice.username} invited you to ${groupName}`).waitFor(WAIT);
    await screenshot(pageB, 'notification-bell');
    await bell.click();

    await pageB.getByRole('button', { name: `Accept invitation to ${groupName}` }).click(WAIT);
    await pageB.getByRole('heading', { name: groupName }).waitFor(WAIT);

    await composer(pageA).fill('Welcome to the group, Bob');
    await pageA.keyboard.press('Enter');
    await pageB.locator('.message.theirs', { hasText: 'Welcome to the group, Bob' }).waitFor(WAIT);
    await screenshot(pageB, 'group-chat');
  });

  it('presence: when B closes the page, A sees B go offline', async () => {
    await conversationButton(pageA, bob.username).click();
    await pageA.getByTestId('peer-presence').getByText('online').waitFor(WAIT);
    await pageB.close();
    // The server waits out a grace period (5 s) before announcing offline.
    await pageA.getByTestId('peer-presence').getByText('offline').waitFor({ timeout: 20_000 });
    // "Last seen" is shown, not only stored.
    await pageA.getByTestId('peer-presence').getByText(/last seen just now/).waitFor(WAIT);
    await pageA.getByRole('img', { name: `${bob.username} is offline` }).waitFor(WAIT);
    await screenshot(pageA, 'presence-offline');
  });

  it('reconnect: messages sent while A is cut off appear once after the socket comes back', async () => {
    pageB = await contextB.newPage();
    await pageB.goto(url);
    await conversationButton(pageB, alice.username).click(WAIT);
    await pageB.getByRole('heading', { name: alice.username }).waitFor(WAIT);
    await pageA.getByTestId('peer-presence').getByText('online').waitFor(WAIT);

    // Cut A's socket and keep it down: reconnects fail until unblocked.
    await pageA.evaluate(() => {
      const w = window as unknown as { __blockSockets: boolean; __sockets: WebSocket[] };
      w.__blockSockets = true;
      for (const socket of w.__sockets) socket.close();
    });
    await pageA.getByRole('status').filter({ hasText: /Reconnecting|offline/ }).waitFor(WAIT);
    await screenshot(pageA, 'connection-banner');

    const whileDown = ['While you were away 1', 'While you were away 2'];
    for (const text of whileDown) {
      await composer(pageB).fill(text);
      await pageB.keyboard.press('Enter');
      await pageB.locator('.message.mine', { hasText: text }).locator('.status').first().waitFor(WAIT).catch(() => {});
    }
    await pageB.locator('.message.mine[data-status]', { hasText: whileDown[1] }).waitFor(WAIT);
    // Still cut off: nothing arrived yet (sending went over HTTP, delivery needs the socket).
    expect(await pageA.locator('.message', { hasText: 'While you were away' }).count()).toBe(0);

    await pageA.evaluate(() => {
      (window as unknown as { __blockSockets: boolean }).__blockSockets = false;
    });
    for (const text of whileDown) await pageA.locator('.message.theirs', { hasText: text }).waitFor({ timeout: 20_000 });
    await pageA.locator('.banner').waitFor({ state: 'detached', timeout: 20_000 });
    // Live again, and nothing doubled by the replay.
    await composer(pageB).fill('And one more, live');
    await pageB.keyboard.press('Enter');
    await pageA.locator('.message.theirs', { hasText: 'And one more, live' }).waitFor(WAIT);
    for (const text of [...whileDown, 'And one more, live']) {
      expect(await pageA.locator('.message', { hasText: text }).count()).toBe(1);
    }
    await screenshot(pageA, 'after-reconnect');
  });
  it('history: older messages load when scrolling up', async () => {
    const list = (await (await contextA.request.get(`${url}/trpc/conversation.list`)).json()) as {
      result: { data: Array<{ id: number; title: string }> };
    };
    const direct = list.result.data.find((conversation) => conversation.title === bob.username);
    expect(direct).toBeDefined();
    for (let i = 1; i <= 70; i++) {
      const response = await contextA.request.post(`${url}/trpc/message.send`, {
        data: { conversationId: direct!.id, content: `history ${i}`, clientMessageId: `history-${suffix}-${i}` },
      });
      expect(response.ok()).toBe(true);
    }
    await pageA.reload();
    await conversationButton(pageA, bob.username).click(WAIT);
    const bubble = (n: number) => pageA.locator('.bubble', { hasText: new RegExp(`^history ${n}$`) });
    await bubble(70).waitFor(WAIT);
    // The first page holds the newest 50: the oldest ones are not loaded yet.
    expect(await bubble(1).count()).toBe(0);
    await eventually(async () => {
      await pageA.getByRole('log').evaluate((element) => element.scrollTo({ top: 0 }));
      await bubble(1).waitFor({ timeout: 500 });
    });
    await pageA.getByText('Start of the conversation').waitFor(WAIT);
    for (const n of [1, 20, 35, 70]) expect(await bubble(n).count()).toBe(1);
    await screenshot(pageA, 'history-scrolled');
  });
  it('an expired session returns the user to sign in', async () => {
    await contextB.clearCookies();
    await pageB.getByLabel('Find people').fill('ali');
    await pageB.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    await screenshot(pageB, 'session-expired');
  });
});
