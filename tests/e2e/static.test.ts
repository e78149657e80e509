/**
 * The static handler under a rebuild: the folder is removed and written again while requests
 * are in flight. The server answers every request (200, 404 or 503), logs, and stays up.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';
import { createServer, type RealtimeServer } from '../../src/server/server.js';

describe('static files', () => {
  let dir: string;
  let app: RealtimeServer;
  let base: string;
  const logged: string[] = [];

  async function writeApp() {
    await mkdir(path.join(dir, 'assets'), { recursive: true });
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(path.join(dir, 'favicon.ico'), Buffer.alloc(64, 1));
    // Big enough that a response is still streaming when the folder goes away.
    await writeFile(path.join(dir, 'assets', 'app-abc123.js'), 'x'.repeat(4 * 1024 * 1024));
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'static-'));
    await writeApp();
    const logger = createLogger('warn');
    logger.warn = ((object: unknown, message?: string) => void logged.push(String(message ?? object))) as typeof logger.warn;
    app = await createServer({ config: { databasePath: ':memory:', seedDemo: false, logLevel: 'warn' }, staticDir: dir, logger });
    const { port } = await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves files, client routes and favicon.ico; 404 for missing files and paths outside the folder', async () => {
    const index = await fetch(`${base}/conversations/12`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<title>app</title>');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const asset = await fetch(`${base}/assets/app-abc123.js`, { method: 'HEAD' });
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${base}/favicon.ico`)).status).toBe(200);
    expect((await fetch(`${base}/assets/missing-1.js`)).status).toBe(404);
    expect((await fetch(`${base}/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    const etag = index.headers.get('etag') ?? '';
    expect((await fetch(`${base}/`, { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('answers 503 (and logs) while index.html is missing, and recovers when it is back', async () => {
    await rm(dir, { recursive: true, force: true });
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/not available/);
    expect(logged.some((line) => line.includes('index.html is missing'))).toBe(true);
    await writeApp();
    expect((await fetch(`${base}/`)).status).toBe(200);
  });

  it('stays up while the folder is removed and rebuilt under concurrent requests', async () => {
    const statuses: number[] = [];
    const request = async (url: string) => {
      try {
        const response = await fetch(url);
        statuses.push(response.status);
        await response.arrayBuffer();
      } catch {
        statuses.push(0); // a body cut short is fine; a dead server is not (checked below)
      }
    };
    for (let round = 0; round < 5; round++) {
      const inFlight = Array.from({ length: 12 }, (_, i) => request(`${base}/${i % 3 === 0 ? '' : 'assets/app-abc123.js'}`));
      await rm(dir, { recursive: true, force: true });
      await writeApp();
      await Promise.all(inFlight);
    }
    expect(statuses.every((status) => [0, 200, 404, 503].includes(status))).toBe(true);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    // Still up: the page and the API both answer.
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/trpc/auth.me`)).status).toBe(200);
  });
});
