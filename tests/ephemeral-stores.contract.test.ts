import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/server/clock.js';
import { createMemoryPresenceStore, type PresenceStore } from '../src/server/services/presence.js';
import { createRedisPresenceStore } from '../src/server/services/presence-redis.js';
import { createRedisTypingStore } from '../src/server/services/typing-redis.js';
import { createMemoryTypingStore, type TypingStore } from '../src/server/services/typing.js';
import { openTestRedis } from './redis-helpers.js';

// One contract for every adapter of each store: the embedded default and the shared one on Redis.
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function redisScope() {
  const scope = await openTestRedis();
  cleanups.push(() => scope.cleanup());
  return scope;
}

const typingAdapters: Array<[string, () => Promise<TypingStore>]> = [
  ['memory', async () => createMemoryTypingStore()],
  ['redis', async () => createRedisTypingStore((await redisScope()).redis)],
];

describe.each(typingAdapters)('TypingStore contract: %s', (_name, make) => {
  it('starts, throttles renewals under the minimum interval, renews after it, and stops once', async () => {
    const store = await make();
    const t0 = 1_000_000;
    expect(await store.start(7, 1, t0, t0 + 6_000, 1_000)).toBe('started');
    expect(await store.start(7, 1, t0 + 500, t0 + 6_500, 1_000)).toBe('throttled');
    expect(await store.start(7, 1, t0 + 1_100, t0 + 7_100, 1_000)).toBe('renewed');
    expect(await store.start(7, 2, t0 + 1_200, t0 + 7_200, 1_000)).toBe('started');
    expect((await store.typists(7, t0 + 2_000)).sort()).toEqual([1, 2]);
    expect(await store.conversationsOf(1)).toEqual([7]);
    expect(await store.stop(7, 1)).toBe(true);
    expect(await store.stop(7, 1)).toBe(false);
    expect(await store.typists(7, t0 + 2_000)).toEqual([2]);
    expect(await store.conversationsOf(1)).toEqual([]);
  });

  it('does not count an entry past its expiry as typing, even if nothing cleared it (a dead instance)', async () => {
    const store = await make();
    const t0 = 2_000_000;
    await store.start(8, 3, t0, t0 + 6_000, 1_000);
    expect(await store.typists(8, t0 + 5_999)).toEqual([3]);
    expect(await store.typists(8, t0 + 6_000)).toEqual([]);
    // Starting again after the expiry is a new start, not a throttled renewal.
    expect(await store.start(8, 3, t0 + 6_100, t0 + 12_100, 60_000)).toBe('started');
  });

  it('keeps conversations and users apart', async () => {
    const store = await make();
    const t0 = 3_000_000;
    await store.start(1, 10, t0, t0 + 6_000, 1_000);
    await store.start(2, 10, t0, t0 + 6_000, 1_000);
    await store.start(2, 11, t0, t0 + 6_000, 1_000);
    expect((await store.conversationsOf(10)).sort()).toEqual([1, 2]);
    expect(await store.typists(1, t0)).toEqual([10]);
    expect((await store.typists(2, t0)).sort()).toEqual([10, 11]);
  });
});

const presenceAdapters: Array<[string, () => Promise<PresenceStore>]> = [
  ['memory', async () => createMemoryPresenceStore()],
  ['redis', async () => {
    const store = createRedisPresenceStore((await redisScope()).redis, systemClock);
    cleanups.unshift(() => store.close());
    return store;
  }],
];

describe.each(presenceAdapters)('PresenceStore contract: %s', (_name, make) => {
  it('reports the first claim and the last release of a user, and who is online', async () => {
    const store = await make();
    expect(await store.setOnline(1)).toBe(true);
    expect(await store.setOnline(1)).toBe(false);
    expect(await store.setOnline(2)).toBe(true);
    expect([...(await store.onlineAmong([1, 2, 3]))].sort()).toEqual([1, 2]);
    expect(await store.setOffline(1)).toBe(true);
    expect([...(await store.onlineAmong([1, 2, 3]))]).toEqual([2]);
    expect(await store.onlineAmong([])).toEqual(new Set());
  });

  it('answers a lookup of thousands of users (more than one Redis call takes), in any order, with repeats', async () => {
    const store = await make();
    const online = [3, 999, 1_000, 1_001, 2_000, 2_500, 2_999];
    for (const userId of online) await store.setOnline(userId);
    const asked = Array.from({ length: 3_000 }, (_, index) => 3_000 - index).concat([1_000, 4]);
    expect([...(await store.onlineAmong(asked))].sort((a, b) => a - b)).toEqual(online);
  });
});

describe('PresenceStore on Redis across instances', () => {
  it('keeps a user online while any instance holds them', async () => {
    const scope = await redisScope();
    const a = createRedisPresenceStore(scope.redis, systemClock, { instanceId: 'a' });
    const b = createRedisPresenceStore(await scope.open(), systemClock, { instanceId: 'b' });
    cleanups.unshift(() => a.close(), () => b.close());
    expect(await a.setOnline(5)).toBe(true);
    expect(await b.setOnline(5)).toBe(false); // already online through a
    expect(await a.setOffline(5)).toBe(false); // still held by b
    expect([...(await a.onlineAmong([5]))]).toEqual([5]);
    expect(await b.setOffline(5)).toBe(true);
    expect(await b.onlineAmong([5])).toEqual(new Set());
  });

  it('announces, once and on one instance, the users of an instance that stopped renewing (kill -9)', async () => {
    const scope = await redisScope();
    const options = { refreshMs: 50, holdMs: 300, sweepMs: 50 };
    const dying = createRedisPresenceStore(await scope.open(), systemClock, { ...options, instanceId: 'dying' });
    const survivor = createRedisPresenceStore(await scope.open(), systemClock, { ...options, instanceId: 'survivor' });
    const other = createRedisPresenceStore(await scope.open(), systemClock, { ...options, instanceId: 'other' });
    cleanups.unshift(() => survivor.close(), () => other.close());
    const announced: number[] = [];
    survivor.onExpired!((userId) => announced.push(userId));
    other.onExpired!((userId) => announced.push(userId));

    await dying.setOnline(41);
    await dying.setOnline(42);
    await survivor.setOnline(42); // 42 also has a live connection elsewhere
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Renewals keep the dying instance's claims alive while it runs.
    expect([...(await survivor.onlineAmong([41, 42]))].sort()).toEqual([41, 42]);
    expect(announced).toEqual([]);

    await dying.close(); // stops renewing, as a killed process would: no setOffline
    await expect.poll(() => announced, { timeout: 3_000, interval: 50 }).toEqual([41]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(announced).toEqual([41]);
    expect([...(await survivor.onlineAmong([41, 42]))]).toEqual([42]);
  });
});

describe('rate limits on Redis', () => {
  it('are shared by every instance, and fall back to per-process limits while Redis is away', async () => {
    const { createRateLimits } = await import('../src/server/services/rate-limits.js');
    const { createMetrics } = await import('../src/server/metrics.js');
    const metrics = createMetrics();
    const { redisRateLimiterBuilder } = await import('../src/server/services/rate-limits-redis.js');
    const { Redis } = await import('ioredis');
    const scope = await redisScope();
    const limits = { signIn: { points: 3, duration: 60 }, send: { points: 100, duration: 1 }, signal: { points: 100, duration: 1 } };
    const a = createRateLimits(metrics, limits, redisRateLimiterBuilder(scope.redis));
    const b = createRateLimits(metrics, limits, redisRateLimiterBuilder(await scope.open()));
    await a.consume('signIn', 'ip-1');
    await b.consume('signIn', 'ip-1');
    await a.consume('signIn', 'ip-1');
    // The fourth attempt is refused whichever instance takes it.
    await expect(b.consume('signIn', 'ip-1')).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });

    // A client that never connected stands for Redis being away: the limit still holds, per process.
    const away = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    const offline = createRateLimits(metrics, limits, redisRateLimiterBuilder(away));
    for (let i = 0; i < 3; i++) await offline.consume('signIn', 'ip-2');
    await expect(offline.consume('signIn', 'ip-2')).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    away.disconnect();
  });

  it('lease large limits: one Redis count per lease, never more than the limit across instances, the last points cut to what is left', async () => {
    const { createRateLimits } = await import('../src/server/services/rate-limits.js');
    const { createMetrics } = await import('../src/server/metrics.js');
    const { redisRateLimiterBuilder, leaseSizeOf } = await import('../src/server/services/rate-limits-redis.js');
    const scope = await redisScope();
    const limits = { send: { points: 91, duration: 60 } };
    expect(leaseSizeOf(91)).toBe(3);
    expect(leaseSizeOf(20)).toBe(0); // sign-in sized limits count every point in Redis
    const metrics = createMetrics();
    const a = createRateLimits(metrics, limits, redisRateLimiterBuilder(scope.redis));
    const b = createRateLimits(metrics, limits, redisRateLimiterBuilder(await scope.open()));
    const counted = async () => Number(await scope.redis.get('rl:send:u1'));

    await a.consume('send', 'u1');
    expect(await counted()).toBe(3);
    await a.consume('send', 'u1');
    await a.consume('send', 'u1');
    expect(await counted()).toBe(3); // served from a's lease, without Redis
    await a.consume('send', 'u1');
    expect(await counted()).toBe(6);

    // Both instances in turn until each is refused: exactly the limit is granted, no more.
    let granted = 4;
    const refused = { a: false, b: false };
    while (!refused.a || !refused.b) {
      for (const [name, limits] of [['a', a], ['b', b]] as const) {
        if (refused[name]) continue;
        try {
          await limits.consume('send', 'u1');
          granted++;
        } catch (error) {
          expect(error).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
          refused[name] = true;
        }
      }
      expect(granted).toBeLessThanOrEqual(91);
    }
    // 91 is not a multiple of the lease: the last lease was cut to the one point left. With both
    // instances in step no leased point was left unused.
    expect(granted).toBe(91);
    // A refusal counts its own point, as with the plain limiter, not a whole lease.
    expect(await counted()).toBeLessThanOrEqual(91 + 2);
    await expect(a.consume('send', 'u1')).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfterMs: expect.any(Number) });
  });
});
