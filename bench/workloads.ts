/**
 * The three workloads, each runnable against any of the three servers. Used by `bench/run.ts`
 * (full and quick runs) and by the smoke test (tiny scale, correctness only).
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { BenchUser } from './clients.js';
import { startServerProcess, type Cpu, type SeededUser, type ServerKind, type ServerProcess } from './control.js';
import type { CheckResult, ConnectResult, LoadgenInit, StepResult, StormResult } from './loadgen.js';

const PASSWORD = 'bench password 123';

type LoadWorker = { call<T>(cmd: string, args?: unknown): Promise<T>; terminate(): Promise<number> };

function startWorker(init: LoadgenInit): LoadWorker {
  // Workers do not inherit tsx's loader on Node 20: register it inside the worker first.
  const entry = JSON.stringify(new URL('./loadgen.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: init });
  let failed: Error | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  });
  worker.on('error', (error) => {
    failed = error;
    for (const waiter of pending.values()) waiter.reject(error);
  });
  return {
    call: <T>(cmd: string, args?: unknown) =>
      new Promise<T>((resolve, reject) => {
        if (failed) return reject(failed);
        const id = ++nextId;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.postMessage({ id, cmd, args });
      }),
    terminate: () => worker.terminate(),
  };
}

/** tRPC over HTTP exactly as httpLink sends it without a transformer: POST, the input as the JSON body. */
export async function httpMutation(url: string, path: string, input: unknown, cookie?: string) {
  const response = await fetch(`${url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as { result?: { data: unknown }; error?: { message: string } };
  if (!response.ok || !body.result) throw new Error(`${path} failed: ${response.status} ${body.error?.message}`);
  const sid = /(?:^|,\s*)sid=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1] ?? null;
  return { data: body.result.data, sid };
}

/** Users in groups of `groupSize`: for tRPC the first `httpUsers` register and log in over HTTP, the rest are seeded. */
export async function prepareUsers(server: ServerProcess, total: number, groupSize: number, httpUsers = 10): Promise<BenchUser[]> {
  if (server.kind !== 'trpc') {
    return Array.from({ length: total }, (_, i) => ({ userId: i + 1, token: '', groupId: Math.floor(i / groupSize) + 1, conversationId: Math.floor(i / groupSize) + 1 }));
  }
  const prefix = `u${Date.now().toString(36)}_`;
  const registered: Array<{ userId: number; username: string; sid: string }> = [];
  for (let i = 0; i < Math.min(httpUsers, total); i++) {
    const username = `${prefix}${i}`;
    await httpMutation(server.url, 'auth.register', { username, password: PASSWORD });
    const login = await httpMutation(server.url, 'auth.login', { username, password: PASSWORD });
    const user = login.data as { id: number };
    if (!login.sid) throw new Error('auth.login set no sid cookie');
    registered.push({ userId: user.id, username, sid: login.sid });
  }
  const seeded = await server.call<SeededUser[]>('seed', {
    password: PASSWORD,
    existing: registered.map(({ userId, username }) => ({ userId, username })),
    total,
    groupSize,
    prefix,
  });
  return seeded.map((user, i) => ({
    userId: user.userId,
    token: user.token ?? registered[i]!.sid,
    groupId: user.groupId,
    conversationId: user.conversationId,
  }));
}

export type Pool = {
  kind: ServerKind;
  /** The instances the users are spread over (one, or several on shared backends). */
  servers: ServerProcess[];
  workers: LoadWorker[];
  all<T>(cmd: string, args?: unknown | ((index: number) => unknown)): Promise<T[]>;
  close(): Promise<void>;
};

/** Whole groups per worker, so a group's sender and recipients share a clock. */
export function startPool(servers: ServerProcess[], users: BenchUser[], workerCount: number): Pool {
  const groups = [...new Set(users.map((u) => u.groupId))];
  const { kind } = servers[0]!;
  const urls = servers.map((server) => server.url);
  const workers = Array.from({ length: workerCount }, (_, workerIndex) => {
    const mine = new Set(groups.filter((_, i) => i % workerCount === workerIndex));
    return startWorker({ kind, urls, users: users.filter((u) => mine.has(u.groupId)), workerIndex });
  });
  return {
    kind,
    servers,
    workers,
    all: <T>(cmd: string, args?: unknown) =>
      Promise.all(workers.map((w, i) => w.call<T>(cmd, typeof args === 'function' ? (args as (i: number) => unknown)(i) : args))),
    async close() {
      await Promise.all(workers.map((w) => w.call('close').catch(() => undefined)));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Starts measuring a backend's CPU; the function returned gives its CPU seconds since (null: not measurable). */
export type CpuSince = () => Promise<() => Promise<number | null>>;
/** The shared backends' own CPU, where the deployment has them (Redis, PostgreSQL). */
export type BackendMeters = { redis?: CpuSince; postgres?: CpuSince };

/**
 * CPU of the server (every instance summed), of this process (every load-generator thread) and
 * of the backends given, as % of one core.
 */
export async function cpuMeter(servers: ServerProcess[], backends: BackendMeters = {}) {
  const serversCpu = async () => (await Promise.all(servers.map((server) => server.cpu()))).reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }));
  const [server0, redis, postgres] = await Promise.all([serversCpu(), backends.redis?.(), backends.postgres?.()]);
  const local0 = process.cpuUsage();
  const t0 = performance.now();
  return async () => {
    const ms = performance.now() - t0;
    const [server1, redisSeconds, postgresSeconds] = await Promise.all([serversCpu(), redis?.(), postgres?.()]);
    const local1 = process.cpuUsage();
    const pct = (a: Cpu, b: Cpu) => Math.round(((b.user - a.user + b.system - a.system) / 1000 / ms) * 100);
    const secondsPct = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? null : Math.round(((seconds * 1000) / ms) * 100));
    const serverSystemCpuPct = Math.round(((server1.system - server0.system) / 1000 / ms) * 100);
    return { serverCpuPct: pct(server0, server1), serverSystemCpuPct, loadgenCpuPct: pct(local0, local1), redisCpuPct: secondsPct(redisSeconds), postgresCpuPct: secondsPct(postgresSeconds) };
  };
}

const FIRST_STEP_WARMUP_MS = 3_000;

/**
 * Waits until the server is quiet after connection setup: the garbage of thousands of connections
 * is collected for seconds afterwards (V8's concurrent marking and memory reducer, on its worker
 * threads), and that would otherwise be billed to the first rate step as CPU per delivery.
 * Connection setup has its own measure (the idle workload). Quiet: under 3 % of a core over one
 * second, twice in a row; at most 20 s.
 */
async function settle(servers: ServerProcess[]): Promise<{ pct: number; seconds: number }> {
  let quiet = 0;
  let last = 100;
  let seconds = 0;
  while (quiet < 2 && seconds < 20) {
    const meter = await cpuMeter(servers);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    last = (await meter()).serverCpuPct;
    seconds++;
    quiet = last < 3 ? quiet + 1 : 0;
  }
  return { pct: last, seconds };
}

export function percentiles(samples: Float64Array[]) {
  const all = new Float64Array(samples.reduce((n, s) => n + s.length, 0));
  let offset = 0;
  for (const s of samples) {
    all.set(s, offset);
    offset += s.length;
  }
  all.sort();
  const at = (q: number) => (all.length === 0 ? Number.NaN : round(all[Math.min(all.length - 1, Math.floor(q * all.length))]!));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: all.length ? round(all[all.length - 1]!) : Number.NaN };
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function sumChecks(checks: CheckResult[]): CheckResult {
  return checks.reduce((a, b) => ({
    expected: a.expected + b.expected,
    missing: a.missing + b.missing,
    gaps: a.gaps + b.gaps,
    duplicates: a.duplicates + b.duplicates,
    behind: a.behind + b.behind,
  }));
}

export type FanoutParams = {
  users: number;
  groupSize: number;
  rates: number[];
  stepMs: number;
  /** Each step first runs this long at its load, unrecorded (0 or absent: none). */
  warmupMs?: number;
  window: number;
  workers: number;
  halfFlat: boolean;
  /** false: the fixed rates only (default: then flat out). */
  flatOut?: boolean;
};
export type FanoutStep = {
  step: string;
  offeredRate: number | null;
  persistedPerSec: number;
  deliveriesPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Deliveries whose recipient is on another instance than the sender: p99 (null with one instance). */
  crossP99: number | null;
  crossDeliveriesPerSec: number;
  errors: number;
  firstError: string | null;
  missing: number;
  duplicates: number;
  exactlyOnce: boolean;
  /** Every instance summed, % of one core. */
  serverCpuPct: number;
  /** Of which in the kernel (system calls: socket writes and reads above all). */
  serverSystemCpuPct: number;
  loadgenCpuPct: number;
  /** Redis's own CPU (whole server), % of one core; null where the deployment has no Redis. */
  redisCpuPct: number | null;
  /** The deployment's PostgreSQL backends, % of one core; null without PostgreSQL (or without its /proc). */
  postgresCpuPct: number | null;
};

export async function runFanout(kind: ServerKind, params: FanoutParams, log: (line: string) => void = () => {}) {
  const server = await startServerProcess(kind);
  try {
    return await fanoutOn([server], params, { label: kind, log });
  } finally {
    await server.close();
  }
}

export type FanoutOptions = { label: string; log?: (line: string) => void; backends?: BackendMeters; first?: boolean };

/**
 * The fan-out workload on running instances: one, or several on shared backends with each group's
 * members alternating between them. Users are prepared through the first instance.
 */
export async function fanoutOn(servers: ServerProcess[], params: FanoutParams, { label, log = () => {}, backends }: FanoutOptions) {
  const users = await prepareUsers(servers[0]!, params.users, params.groupSize);
  const pool = startPool(servers, users, params.workers);
  const steps: FanoutStep[] = [];
  try {
    const connected = await pool.all<ConnectResult>('connect', { extra: [], concurrency: 100 });
    const failures = connected.reduce((n, c) => n + c.failures, 0);
    if (failures > 0) throw new Error(`${failures} connections failed: ${connected.find((c) => c.firstError)?.firstError}`);
    const settled = await settle(servers);
    log(`  ${label}: connected; server CPU settled to ${settled.pct}% of a core after ${settled.seconds} s`);
    const plan: Array<{ step: string; rate: number | null }> = params.rates.map((rate) => ({ step: `${rate}/s`, rate }));
    if (params.flatOut !== false) plan.push({ step: 'flat out', rate: null });
    for (let i = 0; i < plan.length; i++) {
      const { step, rate } = plan[i]!;
      const result = await fanoutStep(pool, params, step, rate, { label, log, backends, first: i === 0 });
      steps.push(result);
      log(`  ${label} ${step}: ${result.persistedPerSec} msg/s, ${result.deliveriesPerSec} deliveries/s, p50 ${result.p50} p99 ${result.p99}${result.crossP99 === null ? '' : ` (cross-instance ${result.crossP99})`} ms, errors ${result.errors}, exactly-once ${result.exactlyOnce}, cpu server ${result.serverCpuPct}% (kernel ${result.serverSystemCpuPct}%) loadgen ${result.loadgenCpuPct}%${result.redisCpuPct === null ? '' : ` redis ${result.redisCpuPct}%`}${result.postgresCpuPct === null ? '' : ` postgres ${result.postgresCpuPct}%`}`);
      if (rate === null && params.halfFlat && i === plan.length - 1) {
        const half = Math.max(50, Math.round(result.persistedPerSec / 2 / 50) * 50);
        plan.push({ step: `half flat out (${half}/s)`, rate: half });
      }
    }
    return { params, steps };
  } finally {
    await pool.close();
  }
}

/** One step: `rate` msg/s (null: flat out), warm-up unrecorded, then CPU and latencies over the recorded window, then the exactly-once check. */
async function fanoutStep(pool: Pool, params: FanoutParams, step: string, rate: number | null, { label, log = () => {}, backends, first }: FanoutOptions): Promise<FanoutStep> {
  const profileDir = process.env.BENCH_PROFILE_DIR;
  // The first step also warms the JIT up: the send path's first few thousand calls are
  // compiled and re-optimized (on V8's worker threads), a one-off cost billed to no step.
  const warmupMs = first && params.warmupMs ? Math.max(params.warmupMs, FIRST_STEP_WARMUP_MS) : (params.warmupMs ?? 0);
  const running = pool.all<StepResult>('run', { rate: rate === null ? null : rate / params.workers, durationMs: params.stepMs, window: params.window, warmupMs });
  // CPU and profile cover the recorded window, as the latencies do.
  if (warmupMs > 0) await new Promise((resolve) => setTimeout(resolve, warmupMs));
  if (profileDir) await Promise.all(pool.servers.map((server) => server.call('profileStart')));
  const meter = await cpuMeter(pool.servers, backends);
  const results = await running;
  const cpu = await meter();
  if (profileDir) {
    const instance = (index: number) => (pool.servers.length > 1 ? `-i${index + 1}` : '');
    const paths = pool.servers.map((server, index) => server.call<string>('profileStop', { path: `${profileDir}/${label}${instance(index)}-${step.replace(/\W+/g, '_')}.cpuprofile` }));
    for (const path of await Promise.all(paths)) log(`  profile: ${path}`);
  }
  const check = sumChecks(await pool.all<CheckResult>('drain', { timeoutMs: 30_000 }));
  const seconds = params.stepMs / 1000;
  const cross = results.reduce((n, r) => n + r.crossLatencies.length, 0);
  return {
    step,
    offeredRate: rate,
    persistedPerSec: Math.round(results.reduce((n, r) => n + r.acked, 0) / seconds),
    deliveriesPerSec: Math.round(results.reduce((n, r) => n + r.deliveries, 0) / seconds),
    ...percentiles(results.map((r) => r.latencies)),
    crossP99: pool.servers.length > 1 ? percentiles(results.map((r) => r.crossLatencies)).p99 : null,
    crossDeliveriesPerSec: Math.round(cross / seconds),
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError ?? null,
    missing: check.missing,
    duplicates: check.duplicates,
    exactlyOnce: check.missing === 0 && check.duplicates === 0,
    ...cpu,
  };
}

export type IdleParams = {
  counts: number[];
  workers: number;
  concurrency: number;
  /** How long each server's heap may settle before each memory reading (see `memory` in control.ts); 0 in the smoke test. */
  settleMs?: number;
  /** Override the extra subscriptions (diagnostics). */
  extra?: string[];
  /** After each step's memory reading, how long the server's CPU is measured with every connection idle (0 or absent: not measured). */
  idleCpuMs?: number;
  /**
   * How long to wait before that window: the forced GCs of the memory reading make V8's memory
   * reducer run a few more collections over the next seconds, which an idle server left alone
   * after its last burst has already done.
   */
  idleCpuWaitMs?: number;
  /** Before anything is seeded: at most how long a fresh server idles for its RSS at start, at least 30 s (0 or absent: not measured; see `idleRss` in control.ts). */
  freshIdleMs?: number;
};
export type IdleStep = {
  connections: number;
  subscriptions: string[];
  rssPerConnKB: number;
  heapPerConnKB: number;
  /** What the connections added since the previous step cost each (one-off costs such as JIT code and young-generation growth excluded); null on the first step. */
  marginalRssPerConnKB: number | null;
  marginalHeapPerConnKB: number | null;
  setupPerSec: number;
  failures: number;
  serverRssMB: number;
  /**
   * Where the server's RSS is, MB: V8's committed heap (`heapTotal`, of which `heapUsed` is live),
   * memory V8 tracks outside its heap (`external`), and anonymous RSS (heap, malloc, buffers;
   * null off Linux). RSS minus anonymous is file-backed (the binary, libraries). For telling an
   * outlier reading apart: a larger V8 heap, or native memory outside it.
   */
  serverMemoryMB: { heapTotal: number; heapUsed: number; external: number; anonymous: number | null };
  /** Server CPU over `idleCpuMs` with every connection idle, % of one core (null: not measured). */
  idleCpuPct: number | null;
};

/**
 * What the web app holds besides its open conversation (src/client/hooks: the conversation list's
 * inbox, the notification bell, presence), where the procedures exist yet. Users of the benchmark
 * are in groups only, where the web app watches no one's presence (it watches direct chats'
 * peers): `presence.watch` of every contact stands in for it, and costs more. The baselines hold
 * a group room and a per-user room instead.
 */
async function webAppSubscriptions(server: ServerProcess, override?: string[]) {
  const procedures = server.kind === 'trpc' ? await server.call<string[]>('procedures') : [];
  const extra = (override ?? ['inbox.events', 'notification.stream', 'presence.watch']).filter((p) => server.kind !== 'trpc' || procedures.includes(p));
  const subscriptions = server.kind === 'trpc' ? ['conversation.events', ...extra] : ['group room', 'user room'];
  return { extra, subscriptions };
}

export type FreshRss = { rss: number; anonymous: number | null; heapTotal: number; waitedS: number };

/** RSS, MB, of a server just started and left idle (nothing seeded, no connection). */
async function freshRss(server: ServerProcess, maxMs: number): Promise<FreshRss> {
  const idle = await server.call<{ rss: number; heapTotal: number; anonymous: number | null; waitedMs: number }>('idleRss', { minMs: Math.min(30_000, maxMs), maxMs, stableMs: 5_000 });
  const mb = (bytes: number) => round(bytes / 1024 / 1024);
  return { rss: mb(idle.rss), anonymous: idle.anonymous === null ? null : mb(idle.anonymous), heapTotal: mb(idle.heapTotal), waitedS: Math.round(idle.waitedMs / 1000) };
}

/** Connects in tranches up to each count; memory per connection is measured from the empty server after GC. */
export async function runIdle(kind: ServerKind, params: IdleParams, log: (line: string) => void = () => {}) {
  const server = await startServerProcess(kind);
  const fresh = params.freshIdleMs ? await freshRss(server, params.freshIdleMs) : null;
  if (fresh) log(`  ${kind} fresh start, idle ${fresh.waitedS} s: rss ${fresh.rss} MB, anonymous ${fresh.anonymous} MB, V8 heap ${fresh.heapTotal} MB`);
  const max = Math.max(...params.counts);
  const users = await prepareUsers(server, max, 10);
  const { extra, subscriptions } = await webAppSubscriptions(server, params.extra);
  const pool = startPool([server], users, params.workers);
  const sizes = await pool.all<number>('size');
  const steps: IdleStep[] = [];
  try {
    const before = await server.memory(params.settleMs);
    let previous: { memory: typeof before; connected: number } | null = null;
    let connected = 0;
    for (const count of [...params.counts].sort((a, b) => a - b)) {
      // Spread each tranche over the workers in proportion to their users.
      const ranges = sizes.map((size) => ({ from: Math.floor((connected / max) * size), to: Math.floor((count / max) * size) }));
      const profileDir = process.env.BENCH_PROFILE_DIR;
      if (profileDir) await server.call('profileStart');
      const started = performance.now();
      const results = await pool.all<ConnectResult>('connect', (i: number) => ({ extra, concurrency: params.concurrency, ...ranges[i] }));
      const ms = performance.now() - started;
      if (profileDir) log(`  profile: ${await server.call<string>('profileStop', { path: `${profileDir}/${kind}-connect-${count}.cpuprofile` })}`);
      const added = ranges.reduce((n, r) => n + r.to - r.from, 0);
      connected += added;
      const after = await server.memory(params.settleMs);
      // After the memory reading, whose forced GCs would count otherwise: nothing but the server's own timers and keepalives runs.
      const idleCpuPct = params.idleCpuMs ? await idleCpu(server, params.idleCpuMs, params.idleCpuWaitMs ?? 0) : null;
      const step: IdleStep = {
        connections: connected,
        subscriptions,
        rssPerConnKB: round((after.rss - before.rss) / connected / 1024),
        heapPerConnKB: round((after.heapUsed - before.heapUsed) / connected / 1024),
        marginalRssPerConnKB: previous ? round((after.rss - previous.memory.rss) / (connected - previous.connected) / 1024) : null,
        marginalHeapPerConnKB: previous ? round((after.heapUsed - previous.memory.heapUsed) / (connected - previous.connected) / 1024) : null,
        setupPerSec: Math.round(added / (ms / 1000)),
        failures: results.reduce((n, r) => n + r.failures, 0),
        serverRssMB: round(after.rss / 1024 / 1024),
        serverMemoryMB: {
          heapTotal: round(after.heapTotal / 1024 / 1024),
          heapUsed: round(after.heapUsed / 1024 / 1024),
          external: round(after.external / 1024 / 1024),
          anonymous: after.anonymous === null ? null : round(after.anonymous / 1024 / 1024),
        },
        idleCpuPct,
      };
      steps.push(step);
      previous = { memory: after, connected };
      log(`  ${kind} idle ${connected}: rss ${step.rssPerConnKB} KB/conn, heap ${step.heapPerConnKB} KB/conn${step.marginalHeapPerConnKB === null ? '' : ` (marginal: rss ${step.marginalRssPerConnKB}, heap ${step.marginalHeapPerConnKB})`}, setup ${step.setupPerSec}/s${idleCpuPct === null ? '' : `, idle CPU ${idleCpuPct}%`}, failures ${step.failures}${step.failures ? ` (${results.find((r) => r.firstError)?.firstError})` : ''}`);
    }
    const startMB = { rss: round(before.rss / 1024 / 1024), anonymous: before.anonymous === null ? null : round(before.anonymous / 1024 / 1024) };
    log(`  ${kind} at start (users seeded, no connection): rss ${startMB.rss} MB, anonymous ${startMB.anonymous} MB`);
    return { params, subscriptions, steps, startMB, freshMB: fresh };
  } finally {
    await pool.close();
    await server.close();
  }
}

/** Server CPU (% of one core, two decimals) over `ms` in which the benchmark sends nothing, after `waitMs`. */
async function idleCpu(server: ServerProcess, ms: number, waitMs: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const before = await server.cpu();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await server.cpu();
  const elapsed = performance.now() - t0;
  return round(((after.user - before.user + after.system - before.system) / 1000 / elapsed) * 100, 2);
}

export type StormParams = {
  users: number;
  groupSize: number;
  rate: number;
  beforeMs: number;
  afterMs: number;
  workers: number;
  /** Override the extra subscriptions (default: the web app's, as in the idle workload). */
  extra?: string[];
};
export type StormOutcome = {
  reconnectMs: number;
  catchUpMs: number;
  gaps: number;
  missing: number;
  duplicates: number;
  resent: number;
  lostOnDrop: number;
  replayed: number;
  errors: number;
  firstError: string | null;
  serverCpuPct: number;
  loadgenCpuPct: number;
  /** The first connection of every user, fully subscribed, before the storm (per second). */
  setupPerSec: number;
  subscriptions: string[];
};

export async function runStorm(kind: ServerKind, params: StormParams, log: (line: string) => void = () => {}) {
  const server = await startServerProcess(kind);
  const users = await prepareUsers(server, params.users, params.groupSize);
  const { extra, subscriptions } = await webAppSubscriptions(server, params.extra);
  const pool = startPool([server], users, params.workers);
  try {
    const started = performance.now();
    const connected = await pool.all<ConnectResult>('connect', { extra, concurrency: 100 });
    const setupPerSec = Math.round(users.length / ((performance.now() - started) / 1000));
    const failures = connected.reduce((n, c) => n + c.failures, 0);
    if (failures > 0) throw new Error(`${failures} connections failed: ${connected.find((c) => c.firstError)?.firstError}`);
    const profileDir = process.env.BENCH_PROFILE_DIR;
    if (profileDir) await server.call('profileStart');
    const meter = await cpuMeter([server]);
    const results = await pool.all<StormResult & StepResult>('storm', { rate: params.rate / params.workers, beforeMs: params.beforeMs, afterMs: params.afterMs, extra });
    const cpu = await meter();
    if (profileDir) log(`  profile: ${await server.call<string>('profileStop', { path: `${profileDir}/${kind}-storm-${params.users}.cpuprofile` })}`);
    const check = sumChecks(await pool.all<CheckResult>('drain', { timeoutMs: 30_000 }));
    const outcome: StormOutcome = {
      reconnectMs: Math.round(Math.max(...results.map((r) => r.reconnectMs))),
      catchUpMs: Math.round(Math.max(...results.map((r) => r.catchUpMs))),
      gaps: check.gaps,
      missing: check.missing,
      duplicates: check.duplicates,
      resent: results.reduce((n, r) => n + r.resent, 0),
      lostOnDrop: results.reduce((n, r) => n + r.lostOnDrop, 0),
      replayed: results.reduce((n, r) => n + r.replayed, 0),
      errors: results.reduce((n, r) => n + r.errors, 0),
      firstError: results.find((r) => r.firstError)?.firstError ?? null,
      ...cpu,
      setupPerSec,
      subscriptions,
    };
    log(`  ${kind} storm of ${params.users} (connected at ${setupPerSec}/s): all reconnected in ${outcome.reconnectMs} ms, caught up in ${outcome.catchUpMs} ms, gaps ${outcome.gaps}, missing ${outcome.missing}, duplicates ${outcome.duplicates}, resent ${outcome.resent}, errors ${outcome.errors}`);
    return { params, outcome };
  } finally {
    await pool.close();
    await server.close();
  }
}
