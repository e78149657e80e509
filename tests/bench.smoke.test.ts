/**
 * The benchmark's workloads at tiny scale, against the real server process and both baselines:
 * correctness only (exactly-once delivery, zero gaps after a reconnect storm, baselines start
 * and answer). Timing belongs to `npm run bench`, never here.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SETUPS, openClusterRedis, runClusterFanout, type ClusterRedis } from '../bench/cluster.js';
import type { ServerKind } from '../bench/control.js';
import { runFanout, runIdle, runStorm } from '../bench/workloads.js';
import { REDIS_URL } from './redis-helpers.js';
import { POSTGRES_ADMIN_URL, postgresQuery } from './store.js';

const KINDS: ServerKind[] = ['trpc', 'socketio', 'ws'];

describe.each(KINDS)('bench smoke: %s', (kind) => {
  it('fan-out delivers every message to every group member exactly once, warm-up included', async () => {
    const { steps } = await runFanout(kind, { users: 30, groupSize: 10, rates: [100], stepMs: 500, warmupMs: 200, window: 2, workers: 2, halfFlat: false });
    expect(steps.map((s) => s.step)).toEqual(['100/s', 'flat out']);
    for (const step of steps) {
      expect(step).toMatchObject({ errors: 0, missing: 0, duplicates: 0, exactlyOnce: true });
      // The recorded window (after the warm-up) has its own sends and deliveries.
      expect(step.persistedPerSec).toBeGreaterThan(0);
      expect(step.deliveriesPerSec).toBeGreaterThan(0);
      expect(Number.isFinite(step.p99)).toBe(true);
    }
  });

  it('holds idle connections with their subscriptions', async () => {
    const { steps, subscriptions, startMB } = await runIdle(kind, { counts: [10, 20], workers: 1, concurrency: 10, idleCpuMs: 200 });
    expect(steps.map((s) => [s.connections, s.failures])).toEqual([[10, 0], [20, 0]]);
    expect(startMB.rss).toBeGreaterThan(0);
    for (const step of steps) expect(step.idleCpuPct).toBeGreaterThanOrEqual(0);
    if (kind === 'trpc') expect(subscriptions).toEqual(expect.arrayContaining(['conversation.events', 'inbox.events']));
    // Where the RSS is: V8's committed heap holds its live part, and on Linux the anonymous
    // part of the RSS is read from /proc and holds V8's heap.
    for (const { serverRssMB, serverMemoryMB: memory } of steps) {
      expect(memory.heapUsed).toBeGreaterThan(0);
      expect(memory.heapTotal).toBeGreaterThanOrEqual(memory.heapUsed);
      if (process.platform === 'linux') {
        expect(memory.anonymous).not.toBeNull();
        expect(memory.anonymous!).toBeGreaterThanOrEqual(memory.heapUsed);
        expect(memory.anonymous!).toBeLessThanOrEqual(serverRssMB);
      }
    }
  });

  it('survives a reconnect storm', async () => {
    const { outcome } = await runStorm(kind, { users: 30, groupSize: 10, rate: 200, beforeMs: 400, afterMs: 400, workers: 2 });
    expect(outcome.errors).toBe(0);
    expect(outcome.setupPerSec).toBeGreaterThan(0);
    // The web app's streams, resubscribed together after the drop (ours: with their last ids).
    if (kind === 'trpc') expect(outcome.subscriptions).toEqual(['conversation.events', 'inbox.events', 'notification.stream', 'presence.watch']);
    expect(outcome.catchUpMs).toBeGreaterThanOrEqual(0);
    // Only our server resumes streams: the baselines have no replay, so their gaps are expected.
    if (kind === 'trpc') expect(outcome).toMatchObject({ gaps: 0, missing: 0, duplicates: 0 });
  });
});

// `npm run bench -- --store=postgresql`: our server on PostgreSQL against Socket.IO with one `pg`
// INSERT per message, each on a database of its own (bench/postgres.ts).
describe.each(['trpc', 'socketio'] as const)('bench smoke on PostgreSQL: %s', (kind) => {
  beforeAll(() => {
    process.env.BENCH_STORE = 'postgresql';
  });
  afterAll(() => {
    delete process.env.BENCH_STORE;
  });

  it('fan-out delivers every message to every group member exactly once', async () => {
    const { steps } = await runFanout(kind, { users: 30, groupSize: 10, rates: [100], stepMs: 500, warmupMs: 200, window: 2, workers: 2, halfFlat: false });
    for (const step of steps) {
      expect(step).toMatchObject({ errors: 0, missing: 0, duplicates: 0, exactlyOnce: true });
      expect(step.persistedPerSec).toBeGreaterThan(0);
    }
  });
});


// `npm run bench -- --cluster`: every deployment at tiny scale; with two instances, deliveries
// cross them. On the suite's Redis (a key prefix per deployment) rather than a private one.
describe.each(CLUSTER_SETUPS)('bench smoke, cluster: $name', (setup) => {
  let redis: ClusterRedis;
  beforeAll(async () => {
    process.env.BENCH_REDIS_URL = REDIS_URL;
    redis = await openClusterRedis();
  });
  afterAll(async () => {
    await redis.close();
    delete process.env.BENCH_REDIS_URL;
  });

  it('delivers exactly once across the instances, then leaves no database or Redis key behind', async () => {
    const params = { users: 40, groupSize: 10, rates: [100], stepMs: 500, warmupMs: 200, window: 2, workers: 2, halfFlat: false };
    const { steps } = await runClusterFanout(setup, params, redis);
    expect(steps.map((s) => s.step)).toEqual(['100/s', 'flat out']);
    for (const step of steps) {
      expect(step).toMatchObject({ errors: 0, missing: 0, duplicates: 0, exactlyOnce: true });
      expect(step.persistedPerSec).toBeGreaterThan(0);
      if (setup.instances > 1) {
        expect(step.crossDeliveriesPerSec).toBeGreaterThan(0);
        expect(Number.isFinite(step.crossP99)).toBe(true);
      } else expect(step.crossP99).toBeNull();
      expect(step.redisCpuPct === null).toBe(!setup.shared);
    }
    const admin = new Redis(REDIS_URL);
    try {
      expect(await admin.keys(`bench:${process.pid}:*`)).toEqual([]);
    } finally {
      admin.disconnect();
    }
    const left = await postgresQuery(POSTGRES_ADMIN_URL, `SELECT datname FROM pg_database WHERE datname LIKE 'bench_cluster_%_${process.pid}_%'`);
    expect(left).toEqual([]);
  });
});
