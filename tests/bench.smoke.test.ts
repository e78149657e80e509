/**
 * The benchmark's workloads at tiny scale, against the real server process and both baselines:
 * correctness only (exactly-once delivery, zero gaps after a reconnect storm, baselines start
 * and answer). Timing belongs to `npm run bench`, never here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerKind } from '../bench/control.js';
import { runFanout, runIdle, runStorm } from '../bench/workloads.js';

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

