/** Shared setup for browser tests: Debian's Chromium, the built web app, a real server. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { createServer, type RealtimeServer } from '../../src/server/server.js';
import { freshStoreConfig } from '../store.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const OUTPUT_DIR = path.resolve('test-output');
const CLIENT_DIR = path.resolve('dist/client');

/**
 * Whether browser tests can run. Without Chromium they are skipped with a printed reason, except
 * under CI, where the issue requires them: there the missing browser fails the run.
 */
export function browserAvailability(): { run: boolean; reason: string | null } {
  if (existsSync(CHROMIUM_PATH)) return { run: true, reason: null };
  const reason = `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(`CI=true: browser tests cannot be skipped: ${reason}`);
  console.warn(`\n[e2e] SKIPPED browser tests: ${reason}\n`);
  return { run: false, reason };
}

let built: Promise<unknown> | null = null;
/** Builds the web app once per test process, as `npm start` serves it. */
export function buildClient() {
  // Production mode, as `npm start` builds it (vitest's NODE_ENV=test would pick React's dev build).
  built ??= (async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ configFile: path.resolve('vite.config.ts'), mode: 'production', logLevel: 'warn', build: { sourcemap: false } });
    } finally {
      process.env.NODE_ENV = previous;
    }
  })();
  return built;
}

export async function startServer(): Promise<{ app: RealtimeServer; url: string }> {
  const app = await createServer({
    config: { ...freshStoreConfig(), seedDemo: false, logLevel: 'silent' },
    staticDir: CLIENT_DIR,
  });
  const { port } = await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${port}` };
}

export async function launchBrowser(): Promise<Browser> {
  await mkdir(OUTPUT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(OUTPUT_DIR, `${name}.png`) });
}

/**
 * Test-only control over the page's WebSockets, injected before the app loads: records every
 * socket and, while `__blockSockets` is set, points new ones at a closed port so reconnects fail.
 */
export const SOCKET_CONTROL_SCRIPT = `(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__blockSockets = false;
  class ControlledWebSocket extends Native {
    constructor(url, protocols) {
      super(window.__blockSockets ? 'ws://127.0.0.1:9/blocked' : url, protocols);
      window.__sockets.push(this);
    }
  }
  window.WebSocket = ControlledWebSocket;
})();`;

/** Polls until `check` passes (its last error is rethrown after the timeout). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
