/**
 * The control channel between the benchmark and a server process (ours or a baseline): the
 * child prints `PORT <n>` and answers requests over Node's IPC channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type SeedRequest = {
  password: string;
  /** Users already registered over HTTP, placed first in the groups. */
  existing: Array<{ userId: number; username: string }>;
  total: number;
  groupSize: number;
  prefix: string;
};
/** `token` is null for users registered over HTTP (their cookie is kept by the caller). */
export type SeededUser = { userId: number; username: string; token: string | null; groupId: number; conversationId: number };
/** `anonymous`: RSS not backed by a file (V8's heap, malloc, buffers), from /proc; null where /proc has no smaps_rollup. */
export type Memory = { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; anonymous: number | null };
export type Cpu = { user: number; system: number };

type Handlers = {
  port: number;
  seed?: (request: SeedRequest) => Promise<SeededUser[]>;
  procedures?: () => string[];
  close: () => Promise<void>;
};

type Request = { id: number; cmd: string; args?: unknown };

/** Child side. */
export function serveControl(handlers: Handlers) {
  const gc = (globalThis as { gc?: () => void }).gc;
  let profiler: import('node:inspector').Session | undefined;
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => profiler!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  const commands: Record<string, (args: unknown) => unknown> = {
    /**
     * Memory after forced GCs. With `settleMs`, also after the heap has settled: V8 keeps pages
     * freed by a burst of garbage (connection setup, seeding) committed for a while and returns
     * them when idle (its memory reducer runs about 8 s after activity stops), so right after a
     * burst RSS counts free pages. `settleMs` waits that long, with a GC every second.
     */
    async memory(args) {
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      for (let i = 0; i < 3; i++) {
        gc?.();
        await pause(50);
      }
      const settleMs = (args as { settleMs?: number } | undefined)?.settleMs ?? 0;
      for (let waited = 0; waited < settleMs; waited += 1000) {
        await pause(1000);
        gc?.();
      }
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      return { rss, heapUsed, heapTotal, external, arrayBuffers, anonymous: await anonymousBytes(), gc: Boolean(gc) };
    },
    /**
     * RSS of a server left alone, with no forced GC (which would keep V8's memory reducer from
     * running): sampled every second for at least `minMs`, then until it stopped falling for
     * `stableMs`, at most `maxMs`. Right after start-up V8 still holds the young generation grown
     * while loading and migrating (up to twice `--max-semi-space-size`); its memory reducer returns
     * it once the process has idled for a while (seen here: 15-20 s after listening).
     */
    async idleRss(args) {
      const { minMs, maxMs, stableMs } = args as { minMs: number; maxMs: number; stableMs: number };
      const started = Date.now();
      let lowest = process.memoryUsage.rss();
      let lowestAt = started;
      while (Date.now() - started < maxMs && (Date.now() - started < minMs || Date.now() - lowestAt < stableMs)) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const rss = process.memoryUsage.rss();
        // Less than 1 MB lower is noise, not the heap shrinking.
        if (rss < lowest - 1024 * 1024) lowestAt = Date.now();
        lowest = Math.min(lowest, rss);
      }
      const { rss, heapTotal } = process.memoryUsage();
      return { rss, heapTotal, anonymous: await anonymousBytes(), waitedMs: Date.now() - started };
    },
    cpu: () => process.cpuUsage(),
    /** Diagnostics: writes a heap snapshot (after GC) and returns its path. */
    async heapSnapshot(args) {
      gc?.();
      const { writeHeapSnapshot } = await import('node:v8');
      return writeHeapSnapshot((args as { path?: string } | undefined)?.path);
    },
    /** Diagnostics (`BENCH_PROFILE_DIR`): a CPU profile of one step, through the inspector. */
    // With BENCH_PROFILE_KIND=alloc: where memory is allocated instead (sampling heap profiler,
    // counting objects the GC already collected), written as .heapprofile.
    async profileStart() {
      const inspector = await import('node:inspector');
      profiler ??= new inspector.Session();
      profiler.connect();
      if (process.env.BENCH_PROFILE_KIND === 'alloc') {
        await post('HeapProfiler.enable');
        await post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        return true;
      }
      await post('Profiler.enable');
      await post('Profiler.start');
      return true;
    },
    async profileStop(args) {
      const alloc = process.env.BENCH_PROFILE_KIND === 'alloc';
      const { profile } = (await post(alloc ? 'HeapProfiler.stopSampling' : 'Profiler.stop')) as { profile: unknown };
      profiler!.disconnect();
      const path = (args as { path: string }).path.replace(/\.cpuprofile$/, alloc ? '.heapprofile' : '.cpuprofile');
      await writeFile(path, JSON.stringify(profile));
      return path;
    },
    seed: (args) => handlers.seed!(args as SeedRequest),
    procedures: () => handlers.procedures?.() ?? [],
    async close() {
      await handlers.close();
      setTimeout(() => process.exit(0), 20);
      return true;
    },
  };
  process.on('message', (message: Request) => {
    Promise.resolve()
      .then(() => commands[message.cmd]!(message.args))
      .then(
        (result) => process.send!({ id: message.id, result }),
        (error: unknown) => process.send!({ id: message.id, error: String((error as Error)?.stack ?? error) }),
      );
  });
  process.stdout.write(`PORT ${handlers.port}\n`);
}

/**
 * The baselines listen with the backlog our server listens with (src/server/http/server.ts):
 * with Node's default of 511, the SYNs of a reconnect storm beyond it wait for the clients'
 * 1, 3, 7 s retries, and the storm measures those instead of the server.
 */
export const LISTEN_BACKLOG = 4096;

export type ServerKind = 'trpc' | 'socketio' | 'ws';
const ENTRIES: Record<ServerKind, string> = {
  trpc: 'server-entry.ts',
  socketio: 'baselines/socketio-server.ts',
  ws: 'baselines/ws-server.ts',
};
/** With `--store=postgresql` (BENCH_STORE), the Socket.IO baseline persists through `pg` instead. */
const POSTGRES_ENTRIES: Partial<Record<ServerKind, string>> = { socketio: 'baselines/socketio-pg-server.ts' };
/** On shared backends (`--cluster`), the Socket.IO baseline adds the Redis adapter; ours reads them from the environment. */
const CLUSTER_ENTRIES: Partial<Record<ServerKind, string>> = { socketio: 'baselines/socketio-redis-server.ts' };
const entryOf = (kind: ServerKind, shared: SharedBackends | null) =>
  (shared ? CLUSTER_ENTRIES[kind] : process.env.BENCH_STORE === 'postgresql' ? POSTGRES_ENTRIES[kind] : undefined) ?? ENTRIES[kind];

/**
 * `--cluster`: the PostgreSQL database and the Redis (with a key and channel prefix) that every
 * instance of one deployment shares. The benchmark creates them and removes them afterwards; the
 * server processes only use them.
 */
export type SharedBackends = { databaseUrl: string; redisUrl: string; redisPrefix: string };
const SHARED_ENV = 'BENCH_SHARED_BACKENDS';

/** Server side: the shared backends this process was started on, or null (a store of its own). */
export function sharedBackendsFromEnv(): SharedBackends | null {
  const value = process.env[SHARED_ENV];
  return value ? (JSON.parse(value) as SharedBackends) : null;
}

export type ServerProcess = {
  kind: ServerKind;
  port: number;
  url: string;
  child: ChildProcess;
  call<T>(cmd: string, args?: unknown): Promise<T>;
  /** After forced GC; with `settleMs`, also after the heap stopped shrinking (see the child's `memory`). */
  memory(settleMs?: number): Promise<Memory>;
  cpu(): Promise<Cpu>;
  close(): Promise<void>;
};

/**
 * Runtime flags of every server process, ours and the baselines alike: `npm start` runs ours with
 * a 32 MB young-generation semi-space (V8's default is 16 MB), where short-lived per-message garbage
 * dies instead of being copied; the baselines get the same so the comparison stays even.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=32'];

/**
 * glibc's malloc settings that `npm start` (package.json) and `npm run cluster` start the server
 * with, given to every server process alike. Read by glibc when the process starts, so they must
 * be in its environment at exec (README, "Password hashing keeps memory on glibc").
 */
export const SERVER_MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

/**
 * Every server runs as built JavaScript, as `npm start` runs ours (scripts/build-server.mjs: no
 * tsx, no keepNames), bundled once per benchmark process under the project (so that package
 * imports resolve), in a folder of this process's own: a worktree's node_modules may be another
 * checkout's, and two benchmarks must not run each other's bundles.
 */
let built: Promise<string> | null = null;
function buildEntries(): Promise<string> {
  built ??= (async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const outdir = join(root, '.tmp', `bench-servers-${process.pid}`);
    process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
    const { buildServer } = (await import(pathToFileURL(join(root, 'scripts', 'build-server.mjs')).href)) as {
      buildServer(options: { entryPoints: string[]; outdir: string; outbase: string }): Promise<void>;
    };
    const bench = join(root, 'bench');
    await buildServer({ entryPoints: [...Object.values(ENTRIES), ...Object.values(POSTGRES_ENTRIES), ...Object.values(CLUSTER_ENTRIES)].map((entry) => join(bench, entry)), outdir, outbase: bench });
    return outdir;
  })();
  return built;
}

/** Linux: the process's anonymous resident memory, from /proc/self/smaps_rollup (null elsewhere). */
async function anonymousBytes(): Promise<number | null> {
  try {
    const rollup = await readFile('/proc/self/smaps_rollup', 'utf8');
    const kB = /^Anonymous:\s+(\d+) kB$/m.exec(rollup)?.[1];
    return kB === undefined ? null : Number(kB) * 1024;
  } catch {
    return null;
  }
}

/**
 * Parent side: spawns the server (with --expose-gc, plus BENCH_NODE_FLAGS such as --cpu-prof), on
 * a store of its own or, with `shared`, as one instance of a deployment on those backends.
 */
export async function startServerProcess(kind: ServerKind, shared: SharedBackends | null = null): Promise<ServerProcess> {
  const entry = join(await buildEntries(), entryOf(kind, shared).replace(/\.ts$/, '.mjs'));
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, ['--expose-gc', ...SERVER_NODE_FLAGS, ...extra, '--enable-source-maps', entry], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...SERVER_MALLOC_ENV, NODE_ENV: 'production', ...(shared ? { [SHARED_ENV]: JSON.stringify(shared) } : {}) },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /PORT (\d+)/.exec(buffer);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before listening`)));
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  });
  // A server that dies (a crash while closing, say) fails what was asked of it instead of
  // leaving the benchmark waiting for ever.
  let exitedWith: string | null = null;
  child.once('exit', (code, signal) => {
    exitedWith = `${kind} server exited (${signal ?? code})`;
    for (const waiter of pending.values()) waiter.reject(new Error(exitedWith));
    pending.clear();
  });
  const call = <T>(cmd: string, args?: unknown) =>
    new Promise<T>((resolve, reject) => {
      if (exitedWith) return reject(new Error(exitedWith));
      const id = ++nextId;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd, args });
    });
  return {
    kind,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    call,
    memory: (settleMs = 0) => call<Memory>('memory', { settleMs }),
    cpu: () => call<Cpu>('cpu'),
    async close() {
      const exited = exitedWith ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // A server slow to close is cut; one that crashes while closing fails the run.
      let cut = false;
      const cutOff = () => {
        cut = true;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(cutOff, 10_000);
      await call('close').catch(() => (exitedWith ? undefined : cutOff()));
      await exited;
      clearTimeout(timer);
      if (!cut && child.exitCode !== 0) throw new Error(`${kind} server did not close cleanly: ${exitedWith}`);
    },
  };
}
