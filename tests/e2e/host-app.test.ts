/**
 * The example host app (examples/host-app) as a team would run it: the library packed with
 * `npm pack`, installed from that tarball into the example's own folder (never the source tree),
 * type-checked with `tsc --noEmit` under strict, built, started, and used by two host users in
 * Chromium: chat, typing, "Seen", and a notification the host's backend pushes after a like.
 *
 * The install is cached in .tmp/host-app (keyed by the tarball's and the example's package.json
 * hashes): the first run installs everything from the npm registry (3-4 minutes here, most of it
 * better-sqlite3 building from source); a changed tarball is reinstalled over the cached
 * node_modules (seconds); an unchanged one is not installed again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailability, eventually, launchBrowser, screenshot } from './browser.js';

const { run } = browserAvailability();
const EXAMPLE = path.resolve('examples/host-app');
const WORK = path.resolve('.tmp/host-app');
const PACK = path.resolve('.tmp/pack');
const WAIT = { timeout: 15_000 };

/** Runs a command to completion; rejects with its output when it fails. */
function exec(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NODE_ENV: 'production' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`))));
  });
}

/** Packs the library, installs the tarball into the example's folder (once per tarball), copies the example's sources. */
async function prepareExample(): Promise<{ installMs: number | null }> {
  await rm(PACK, { recursive: true, force: true });
  await mkdir(PACK, { recursive: true });
  await exec('npm', ['pack', '--pack-destination', PACK, '--silent'], process.cwd());
  const tarball = path.join(PACK, (await readdir(PACK)).find((name) => name.endsWith('.tgz'))!);
  const manifest = await readFile(path.join(EXAMPLE, 'package.json'));
  const key = createHash('sha256').update(await readFile(tarball)).update(manifest).digest('hex');
  const stamp = path.join(WORK, '.installed');
  let installMs: number | null = null;
  if ((await readFile(stamp, 'utf8').catch(() => '')) !== key) {
    const started = Date.now();
    await mkdir(WORK, { recursive: true });
    await writeFile(path.join(WORK, 'package.json'), manifest);
    await exec('npm', ['install', '--no-audit', '--no-fund', '--include=dev', tarball], WORK);
    await writeFile(stamp, key);
    installMs = Date.now() - started;
  }
  await rm(path.join(WORK, 'src'), { recursive: true, force: true });
  for (const entry of ['src', 'public/index.html', 'tsconfig.json']) await cp(path.join(EXAMPLE, entry), path.join(WORK, entry), { recursive: true });
  return { installMs };
}

/** Starts the built host app on a free port; resolves with its URL once it listens. */
function startHostApp(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['dist/server.js'], { cwd: WORK, env: { ...process.env, PORT: '0', NODE_ENV: 'production' } });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve({ child, url: match[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`host app exited (${code}):\n${output}`)));
  });
}

describe.skipIf(!run)('example host app, installed from the packed tarball', () => {
  let host: { child: ChildProcess; url: string };
  let browser: Browser;

  beforeAll(async () => {
    const { installMs } = await prepareExample();
    console.info(installMs === null ? '[host-app] install cached' : `[host-app] npm install of the tarball took ${(installMs / 1000).toFixed(1)} s`);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    host?.child.kill('SIGTERM');
  });

  it('type-checks with tsc --noEmit under strict, against the installed package', async () => {
    await exec('npx', ['tsc', '--noEmit'], WORK);
  }, 120_000);

  it('two host users chat, see typing and "Seen", and get a notification after a like', async () => {
    await exec('npm', ['run', 'build', '--silent'], WORK);
    host = await startHostApp();
    browser = await launchBrowser();
    const signIn = async (name: string, password: string): Promise<Page> => {
      const page = await (await browser.newContext({ viewport: { width: 900, height: 700 } })).newPage();
      page.on('pageerror', (error) => console.error('[host page error]', error));
      await page.goto(host.url);
      await page.getByLabel('name', { exact: true }).fill(name);
      await page.getByLabel('password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: `Hello ${name}` }).waitFor(WAIT);
      return page;
    };
    const ana = await signIn('Ana', 'ana-secret');
    const bo = await signIn('Bo', 'bo-secret');

    await ana.getByRole('button', { name: 'Chat with Bo' }).click();
    await bo.getByRole('button', { name: 'Chat with Ana' }).click();
    await ana.getByLabel('message').pressSequentially('hello B');
    await bo.getByText('Ana is typing…').waitFor(WAIT);
    await screenshot(bo, 'host-app-typing');
    await ana.getByLabel('message').pressSequentially('o');
    await ana.getByLabel('message').press('Enter');
    await bo.locator('li.theirs', { hasText: 'hello Bo' }).waitFor(WAIT);
    await ana.getByText('Seen', { exact: true }).waitFor(WAIT);
    await screenshot(ana, 'host-app-seen');

    await ana.getByRole('button', { name: "Like Bo's post" }).click();
    await bo.getByText('Ana liked your post').waitFor(WAIT);
    await eventually(async () => expect(await bo.getByRole('heading', { name: /Notifications/ }).textContent()).not.toBe('Notifications (0)'));
    await screenshot(bo, 'host-app-notification');
  }, 120_000);
});
