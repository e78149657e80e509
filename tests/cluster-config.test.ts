import type { IncomingMessage } from 'node:http';
import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/server/config.js';
import { clientAddress } from '../src/server/http/server.js';
import { createServer } from '../src/server/server.js';
import { REDIS_URL, startPrivateRedis } from './redis-helpers.js';
import { runServerToExit } from './server-process.js';
import { signUp, startServer, waitFor } from './socket-helpers.js';
import { freshStoreConfig } from './store.js';

it('REDIS_URL must be a redis:// or rediss:// URL, REDIS_PREFIX a short plain prefix; both optional', () => {
  expect(() => loadConfig({ REDIS_URL: 'http://localhost:6379' })).toThrow(ConfigError);
  expect(() => loadConfig({ REDIS_URL: 'http://localhost:6379' })).toThrow(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
  expect(() => loadConfig({ REDIS_PREFIX: 'has space' })).toThrow(/REDIS_PREFIX/);
  expect(() => loadConfig({ PRESENCE_HOLD_S: '1' })).toThrow(/PRESENCE_HOLD_S/);
  const config = loadConfig({ REDIS_URL: 'rediss://user:secret@redis.example:6380', REDIS_PREFIX: 'prod:', TRUST_PROXY: 'true' });
  expect(config).toMatchObject({ redisUrl: 'rediss://user:secret@redis.example:6380', redisPrefix: 'prod:', trustProxy: true, presenceHoldMs: 30_000 });
  expect(loadConfig({})).toMatchObject({ redisUrl: null, trustProxy: false });
});

it('the client address comes from X-Forwarded-For (its last entry) only with TRUST_PROXY', () => {
  const request = (forwarded?: string) =>
    ({ headers: forwarded ? { 'x-forwarded-for': forwarded } : {}, socket: { remoteAddress: '10.0.0.2' } }) as unknown as IncomingMessage;
  expect(clientAddress(request('203.0.113.7'), false)).toBe('10.0.0.2');
  expect(clientAddress(request('203.0.113.7'), true)).toBe('203.0.113.7');
  // Earlier entries come from the client and prove nothing: the last one is what our proxy saw.
  expect(clientAddress(request('198.51.100.1, 203.0.113.7'), true)).toBe('203.0.113.7');
  expect(clientAddress(request(), true)).toBe('10.0.0.2');
});

it('without REDIS_URL the bus stays in process; with it, the server shares it through Redis and closes its connections', async () => {
  const embedded = await createServer({ config: { ...freshStoreConfig(), logLevel: 'silent', seedDemo: false } });
  expect(embedded.deps.bus.mayReorder).toBeUndefined();
  await embedded.close();
  const shared = await createServer({ config: { ...freshStoreConfig(), logLevel: 'silent', seedDemo: false, redisUrl: REDIS_URL, redisPrefix: `cfg-${process.pid}:` } });
  expect(shared.deps.bus.mayReorder).toBe(true);
  await shared.close();
});

it('refuses to start when Redis cannot be reached: bounded retries, then one line naming REDIS_URL and the host (never the password)', async () => {
  const { code, output } = await runServerToExit({ DATABASE_PATH: ':memory:', REDIS_URL: 'redis://:hunter2@127.0.0.1:1', REDIS_CONNECT_TIMEOUT_S: '1', SEED_DEMO: 'false' });
  expect(code).toBe(1);
  expect(output).toMatch(/REDIS_URL: Redis at 127\.0\.0\.1:1 did not answer within 1000 ms/);
  expect(output).not.toContain('hunter2');
});

it('/readyz checks Redis too when the server runs on it: 503 while Redis is frozen or gone, ready again when it answers', async () => {
  const redis = await startPrivateRedis();
  const server = await startServer({ redisUrl: redis.url, redisPrefix: 'readyz:', redisConnectTimeoutMs: 5_000 });
  const readyz = async () => {
    const response = await fetch(`${server.base}/readyz`);
    return { status: response.status, body: await response.json() };
  };
  try {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', database: true, redis: true } });
    // Frozen: the connections stay open and nothing answers, so only the PING timeout can tell.
    redis.freeze(true);
    expect(await readyz()).toEqual({ status: 503, body: { status: 'unavailable', database: true, redis: false } });
    redis.freeze(false);
    await waitFor(async () => (await readyz()).status === 200, 10_000, 'ready after Redis thawed');
    await redis.kill();
    expect(await readyz()).toEqual({ status: 503, body: { status: 'unavailable', database: true, redis: false } });
  } finally {
    await redis.kill();
    await server.app.close();
  }
});

it('/readyz without Redis answers for the database alone (no redis field)', async () => {
  const server = await startServer();
  try {
    expect(await (await fetch(`${server.base}/readyz`)).json()).toEqual({ status: 'ready', database: true });
  } finally {
    await server.app.close();
  }
});

it('stops within seconds while Redis is away, with a publication still queued (the message itself is stored)', async () => {
  const redis = await startPrivateRedis();
  const server = await startServer({ redisUrl: redis.url, redisPrefix: 'down:', redisConnectTimeoutMs: 5_000 });
  try {
    const [ann, bob] = [await signUp(server.base, 'ann'), await signUp(server.base, 'bob')];
    const ask = async (path: string, cookie: string, body: unknown) => {
      const response = await fetch(`${server.base}/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
      return ((await response.json()) as { result: { data: { id: number } } }).result.data;
    };
    const conversation = await ask('conversation.openDirect', ann.cookie, { userId: bob.id });
    await redis.kill();
    // Sends need only the database: acknowledged, its publication left waiting for Redis.
    expect(await ask('message.send', ann.cookie, { conversationId: conversation.id, content: 'while Redis is down', clientMessageId: 'down-1' })).toMatchObject({ id: expect.any(Number) });
    const started = Date.now();
    await server.app.close();
    // A supervisor's grace is typically 10-30 s; the publisher's retries alone would take ~35 s.
    expect(Date.now() - started).toBeLessThan(8_000);
  } finally {
    await redis.kill();
  }
});
