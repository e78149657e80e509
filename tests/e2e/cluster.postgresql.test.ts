/**
 * The web app on two instances behind nginx (PostgreSQL + Redis; PostgreSQL project only): two
 * users in two Chromium contexts whose sockets are on different instances.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../cluster/harness.js';
import { browserAvailability, buildClient, launchBrowser, screenshot } from './browser.js';

const { run } = browserAvailability();
const alice = { username: 'alice_cluster', password: 'alice-password' };
const bob = { username: 'bob_cluster', password: 'bob-password' };
const WAIT = { timeout: 15_000 };

/** The instance (nginx's X-Upstream) of every WebSocket a page opens, read from Chromium's handshake events. */
async function recordUpstreams(context: BrowserContext, page: Page): Promise<string[]> {
  const upstreams: string[] = [];
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketHandshakeResponseReceived', ({ response }) => {
    const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
    upstreams.push(headers['x-upstream'] ?? '');
  });
  return upstreams;
}

describe.skipIf(!run)('web app on two instances behind nginx', () => {
  let cluster: Cluster;
  let browser: Browser;
  let pageA: Page;
  let pageB: Page;
  let contextA: BrowserContext;
  let contextB: BrowserContext;
  let upstreamsA: string[];
  let upstreamsB: string[];

  beforeAll(async () => {
    await buildClient();
    cluster = await startCluster(2);
    browser = await launchBrowser();
    contextA = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    contextB = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    pageA = await contextA.newPage();
    pageB = await contextB.newPage();
    upstreamsA = await recordUpstreams(contextA, pageA);
    upstreamsB = await recordUpstreams(contextB, pageB);
    for (const page of [pageA, pageB]) page.on('pageerror', (error) => console.error('[page error]', error));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  });

  async function register(page: Page, user: typeof alice) {
    await page.goto(cluster.balancer.url);
    await page.getByRole('button', { name: 'New here? Create an account' }).click();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.me', { hasText: user.username }).waitFor(WAIT);
    await page.locator('.conn-online').waitFor(WAIT);
  }

  it('two users on different instances: typing, a live message, "Seen" and presence cross them', async () => {
    await register(pageA, alice);
    await register(pageB, bob);
    // Round robin may put both on one instance: reload B until its socket is on the other one.
    for (let attempt = 0; cluster.indexOf(upstreamsB.at(-1) ?? '') === cluster.indexOf(upstreamsA.at(-1) ?? ''); attempt++) {
      expect(attempt).toBeLessThan(10);
      await pageB.reload();
      await pageB.locator('.conn-online').waitFor(WAIT);
    }
    const instanceA = cluster.indexOf(upstreamsA.at(-1)!);
    const instanceB = cluster.indexOf(upstreamsB.at(-1)!);
    expect([instanceA, instanceB].sort()).toEqual([0, 1]);

    await pageA.getByLabel('Find people').fill(bob.username.slice(0, 6));
    await pageA.getByRole('button', { name: `Chat with ${bob.username}` }).click();
    await pageA.getByRole('heading', { name: bob.username }).waitFor(WAIT);
    await pageB.locator('.conversation', { hasText: alice.username }).first().click(WAIT);
    await pageB.getByRole('heading', { name: alice.username }).waitFor(WAIT);

    const composer = pageA.getByLabel('Message', { exact: true });
    await composer.click();
    await pageA.keyboard.type('Across instances', { delay: 30 });
    await pageB.getByText(`${alice.username} is typing…`).waitFor(WAIT);
    await pageA.keyboard.press('Enter');
    await pageB.locator('.message.theirs', { hasText: 'Across instances' }).waitFor(WAIT);
    await pageA.locator('.message.mine .status', { hasText: 'Seen' }).waitFor(WAIT);
    // Presence is shared once both have written (README, "who sees whose presence"): bob answers,
    // and each page sees the other online, across the two instances.
    const reply = pageB.getByLabel('Message', { exact: true });
    await reply.click();
    await pageB.keyboard.type('Hello from the other instance');
    await pageB.keyboard.press('Enter');
    await pageA.locator('.message.theirs', { hasText: 'Hello from the other instance' }).waitFor(WAIT);
    await pageA.getByTestId('peer-presence').getByText('online').waitFor(WAIT);
    await pageB.getByTestId('peer-presence').getByText('online').waitFor(WAIT);
    await screenshot(pageB, 'cluster-two-instances');
    expect(await pageB.locator('.message', { hasText: 'Across instances' }).count()).toBe(1);
    // Neither page moved while this ran: the two sockets really were on two instances.
    expect(cluster.indexOf(upstreamsA.at(-1)!)).toBe(instanceA);
    expect(cluster.indexOf(upstreamsB.at(-1)!)).toBe(instanceB);
  });
});
