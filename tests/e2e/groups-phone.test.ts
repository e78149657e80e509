/**
 * Groups on a phone and on desktop: the bell panel fits a 390x844 screen and answers an
 * invitation; the members panel and the chat header agree after people accept and leave.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeServer } from '../../src/server/server.js';
import { browserAvailability, buildClient, eventually, launchBrowser, screenshot, startServer } from './browser.js';

const { run } = browserAvailability();
const suffix = Math.random().toString(36).slice(2, 7);
const owner = { username: `olga_${suffix}`, password: 'olga-password' };
const phone = { username: `pia_${suffix}`, password: 'pia-password' };
const third = { username: `quin_${suffix}`, password: 'quin-password' };
const groupName = `Climbing ${suffix}`;
const WAIT = { timeout: 20_000 };
const PHONE = { width: 390, height: 844 };

describe.skipIf(!run)('groups: bell on a phone, members panel in sync', () => {
  let server: RealtimeServer;
  let url: string;
  let browser: Browser;
  let ownerPage: Page;
  let phonePage: Page;
  let thirdPage: Page;

  beforeAll(async () => {
    await buildClient();
    ({ app: server, url } = await startServer());
    browser = await launchBrowser();
    ownerPage = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
    phonePage = await (await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true })).newPage();
    thirdPage = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
    for (const page of [ownerPage, phonePage, thirdPage]) page.on('pageerror', (error) => console.error('[page error]', error));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function register(page: Page, user: typeof owner) {
    await page.goto(url);
    // The username field has focus on arrival.
    await page.getByRole('button', { name: 'New here? Create an account' }).click();
    await page.getByText(/At least 8 characters/).waitFor(WAIT);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.me', { hasText: user.username }).waitFor(WAIT);
  }

  const headerCount = (page: Page) => page.getByTestId('header-member-count');
  const panelCount = (page: Page) => page.getByTestId('panel-member-count');
  const bell = (page: Page) => page.getByRole('button', { name: /^Notifications \(\d+ unread\)$/ });

  it('registration states its rules and the sign-in form focuses the username', async () => {
    await phonePage.goto(url);
    await phonePage.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    expect(await phonePage.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('username');
    await phonePage.getByRole('button', { name: 'New here? Create an account' }).click();
    await phonePage.getByText(/letters, digits, dots, dashes and underscores/).waitFor(WAIT);
    await screenshot(phonePage, 'register-rules-phone');
    for (const [page, user] of [[ownerPage, owner], [phonePage, phone], [thirdPage, third]] as const) await register(page, user);
  });

  it('the owner invites two people; a second invite shows "Already invited" until the list changes', async () => {
    await ownerPage.getByLabel('Group name').fill(groupName);
    await ownerPage.getByRole('button', { name: 'Create group' }).click();
    await ownerPage.getByRole('heading', { name: groupName }).waitFor(WAIT);
    // Opening a chat puts the cursor in the message box.
    await eventually(async () => expect(await ownerPage.evaluate(() => document.activeElement?.id)).toBe('composer-input'));
    await ownerPage.getByRole('button', { name: 'Members' }).click();
    for (const user of [phone, third]) {
      await ownerPage.getByLabel('Invite people').fill(user.username);
      await ownerPage.getByRole('button', { name: `Invite ${user.username}` }).click();
      await ownerPage.getByText(`Invitation sent to ${user.username}.`).waitFor(WAIT);
    }
    await ownerPage.getByLabel('Invite people').fill(phone.username);
    await ownerPage.getByRole('button', { name: `Invite ${phone.username}` }).click();
    await ownerPage.getByRole('alert').filter({ hasText: 'Already invited' }).waitFor(WAIT);
    await expect.poll(() => headerCount(ownerPage).textContent()).toBe('1 member');
  });

  it('phone: the bell panel fits the screen, closes on Escape, and accepts the invitation', async () => {
    const topbar = await phonePage.locator('.topbar').boundingBox();
    expect(topbar!.height).toBeLessThan(60); // one line, no wrapping
    await eventually(async () => expect(await bell(phonePage).getAttribute('aria-label')).toBe('Notifications (1 unread)'));
    await bell(phonePage).click();
    const panel = phonePage.getByRole('region', { name: 'Notifications' });
    await panel.getByText(`${owner.username} invited you to ${groupName}`).waitFor(WAIT);
    const box = await panel.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    expect(box!.y + box!.height).toBeLessThanOrEqual(PHONE.height);
    await screenshot(phonePage, 'bell-phone');
    await phonePage.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached', timeout: 5_000 });

    await bell(phonePage).click();
    await panel.getByRole('button', { name: 'Accept' }).click();
    await phonePage.getByRole('heading', { name: groupName }).waitFor(WAIT);
    // The invitation is settled: nothing left unread.
    await eventually(async () => expect(await bell(phonePage).getAttribute('aria-label')).toBe('Notifications (0 unread)'));
    await screenshot(phonePage, 'group-chat-phone');
    // The chat has its own URL: Back returns to the list, Forward reopens the chat.
    expect(new URL(phonePage.url()).pathname).toMatch(/^\/c\/\d+$/);
    await phonePage.goBack();
    await phonePage.getByRole('heading', { name: groupName }).waitFor({ state: 'detached', timeout: 10_000 });
    await phonePage.goForward();
    await phonePage.getByRole('heading', { name: groupName }).waitFor(WAIT);
  });

  it('members panel and header agree after an accept and a leave; the stale error is gone', async () => {
    await expect.poll(() => headerCount(ownerPage).textContent(), WAIT).toBe('2 members');
    await expect.poll(() => panelCount(ownerPage).textContent(), WAIT).toBe('2 members');
    await ownerPage.getByRole('alert').filter({ hasText: 'Already invited' }).waitFor({ state: 'detached', timeout: 10_000 });

    await thirdPage.getByRole('button', { name: `Accept invitation to ${groupName}` }).click(WAIT);
    await thirdPage.getByRole('heading', { name: groupName }).waitFor(WAIT);
    await expect.poll(() => headerCount(ownerPage).textContent(), WAIT).toBe('3 members');
    await expect.poll(() => panelCount(ownerPage).textContent(), WAIT).toBe('3 members');
    await ownerPage.getByText(`${third.username} joined the group`).waitFor(WAIT);

    await thirdPage.getByRole('button', { name: 'Members' }).click();
    await thirdPage.getByRole('button', { name: 'Leave group' }).click();
    await expect.poll(() => headerCount(ownerPage).textContent(), WAIT).toBe('2 members');
    await expect.poll(() => panelCount(ownerPage).textContent(), WAIT).toBe('2 members');
    await ownerPage.getByText(`${third.username} left the group`).waitFor(WAIT);
    await screenshot(ownerPage, 'members-in-sync');
  });

  it('messages: links are clickable and safe, plurals and dates read right, long text is refused with a counter', async () => {
    const composer = ownerPage.getByLabel('Message', { exact: true });
    await composer.fill('See https://example.com/docs?x=1, not javascript:alert(1)');
    await composer.press('Enter');
    const link = ownerPage.locator('.message.mine .bubble a');
    await link.waitFor(WAIT);
    expect(await link.getAttribute('href')).toBe('https://example.com/docs?x=1');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await ownerPage.locator('.bubble a[href^="javascript"]').count()).toBe(0);
    await ownerPage.locator('.day-separator', { hasText: 'Today' }).first().waitFor(WAIT);
    await phonePage.locator('.message.theirs .bubble a').waitFor(WAIT);
    // The phone member reads it: the owner sees "Seen by 1".
    await ownerPage.locator('.seen-by', { hasText: 'Seen by 1' }).waitFor(WAIT);
    expect(await ownerPage.locator('.seen-by').getAttribute('title')).toBe(`Seen by ${phone.username}`);

    await composer.fill('x'.repeat(4_001));
    await ownerPage.locator('.counter', { hasText: 'too long' }).waitFor(WAIT);
    expect(await ownerPage.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    await screenshot(ownerPage, 'composer-too-long');
    await composer.fill('');
  });

  it('favicon.ico is served', async () => {
    const response = await ownerPage.request.get(`${url}/favicon.ico`);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toBe('image/x-icon');
  });
});
