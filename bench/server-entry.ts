/**
 * The real server in its own process for the benchmark: a fresh SQLite file in a temp folder (or,
 * with BENCH_STORE=postgresql, a fresh PostgreSQL database; or, as one instance of a `--cluster`
 * deployment, the database and Redis it shares with the others: BENCH_SHARED_BACKENDS),
 * very high rate limits, listening on port 0. Prints `PORT <n>` on stdout and answers control
 * messages on the IPC channel (seed users and groups, memory after GC, CPU usage).
 * Run with `node --expose-gc --import tsx bench/server-entry.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../src/server/config.js';
import { Session, User } from '../src/server/db/entities.js';
import { checkpointerOf } from '../src/server/db/orm.js';
import { appRouter } from '../src/server/routers/index.js';
import { createServer } from '../src/server/server.js';
import { hashPassword } from '../src/server/services/passwords.js';
import { serveControl, sharedBackendsFromEnv, type SeedRequest, type SeededUser } from './control.js';
import { benchStore, createBenchDatabase } from './postgres.js';

const folder = mkdtempSync(join(tmpdir(), 'bench-trpc-'));
const shared = sharedBackendsFromEnv();
// --store=postgresql: a database of this process's own, dropped on close.
const postgres = benchStore === 'postgresql' && !shared ? await createBenchDatabase('bench_trpc') : null;
const huge = { points: 1_000_000_000, duration: 1 };
const defaults = defaultConfig();
const app = await createServer({
  config: {
    databasePath: join(folder, 'bench.sqlite'),
    databaseUrl: shared?.databaseUrl ?? postgres?.url ?? null,
    redisUrl: shared?.redisUrl ?? null,
    redisPrefix: shared?.redisPrefix ?? defaults.redisPrefix,
    logLevel: 'error',
    seedDemo: false,
    env: 'production',
    // A load generator's sender socket may exceed a browser's frame budget; everything else stays as deployed.
    connectionLimits: { ...defaults.connectionLimits, framesPerSecond: 1_000_000_000, framesBurst: 1_000_000_000 },
  },
  rateLimits: { signIn: huge, send: huge, signal: huge },
});
const address = await app.listen(0, '127.0.0.1');
const { orm, services } = app.deps;

async function seed({ password, existing, total, groupSize, prefix }: SeedRequest): Promise<SeededUser[]> {
  // scrypt costs ~50 ms a user: the HTTP-registered users prove the real path, the rest share one hash.
  const passwordHash = await hashPassword(password);
  const em = orm.em.fork();
  const now = new Date();
  const expiresAt = new Date(Date.now() + 86_400_000);
  const fresh = Array.from({ length: Math.max(0, total - existing.length) }, (_, i) => `${prefix}${existing.length + i}`);
  const users: SeededUser[] = existing.map((user) => ({ ...user, token: null, groupId: 0, conversationId: 0 }));
  for (let start = 0; start < fresh.length; start += 500) {
    const names = fresh.slice(start, start + 500);
    await em.insertMany(User, names.map((username) => ({ username, passwordHash, createdAt: now })) as never);
    const rows = await em.find(User, { username: { $in: names } }, { fields: ['id', 'username'], orderBy: { id: 'asc' } });
    const tokens = rows.map(() => randomBytes(32).toString('base64url'));
    await em.insertMany(Session, rows.map((row, i) => ({
      id: createHash('sha256').update(tokens[i]!).digest('hex'), user: row.id, createdAt: now, expiresAt,
    })));
    rows.forEach((row, i) => users.push({ userId: row.id, username: row.username, token: tokens[i]!, groupId: 0, conversationId: 0 }));
    em.clear();
  }
  for (let start = 0; start < users.length; start += groupSize) {
    const members = users.slice(start, start + groupSize);
    const group = await services.groups.createWithMembers(members[0]!.userId, `g${start / groupSize}`, members.slice(1).map((m) => m.userId));
    for (const member of members) Object.assign(member, { groupId: group.groupId!, conversationId: group.id });
  }
  return users;
}

serveControl({
  port: address.port,
  seed,
  procedures: () => Object.keys(appRouter._def.procedures),
  async close() {
    await app.close();
    await postgres?.drop();
    rmSync(folder, { recursive: true, force: true });
  },
});

if (process.env.BENCH_DIAG) {
  const { PerformanceObserver, monitorEventLoopDelay } = await import('node:perf_hooks');
  const gcs: number[] = [];
  const kinds = new Map<number, { n: number; ms: number; max: number }>();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.push(e.duration);
      const kind = ((e as { detail?: { kind?: number } }).detail)?.kind ?? 0;
      const k = kinds.get(kind) ?? { n: 0, ms: 0, max: 0 };
      k.n++; k.ms += e.duration; k.max = Math.max(k.max, e.duration);
      kinds.set(kind, k);
    }
  }).observe({ entryTypes: ['gc'] });
  // perf_hooks.constants: 1 minor (scavenge), 2 major, 4 incremental marking, 8 weak callbacks.
  const kindName: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let cpu = process.cpuUsage();
  setInterval(async () => {
    const wal = await checkpointerOf(orm)?.checkpointNow().catch(() => undefined);
    const now = process.cpuUsage();
    const pct = Math.round((now.user - cpu.user + now.system - cpu.system) / 20_000);
    cpu = now;
    const big = gcs.filter((d) => d > 10).map((d) => d.toFixed(0));
    process.stderr.write(`diag: hooks ${Object.getOwnPropertySymbols(new Promise(() => {})).length > 0 ? 'on' : 'off'}, cpu ${pct}% loop p50 ${(h.percentile(50) / 1e6).toFixed(1)} p99 ${(h.percentile(99) / 1e6).toFixed(1)} max ${(h.max / 1e6).toFixed(1)} ms; gc n=${gcs.length} total ${gcs.reduce((a, b) => a + b, 0).toFixed(0)} ms, >10ms: ${big.join(',')} [${[...kinds].map(([k, v]) => `${kindName[k] ?? k} ${v.n}x ${v.ms.toFixed(0)}ms max ${v.max.toFixed(0)}`).join(', ')}]; wal ${wal ? `${wal.walFrames} frames, ${wal.checkpoints} checkpoints, ${wal.finishes} finishes, ${wal.restarts} restarts` : 'none'}\n`);
    gcs.length = 0;
    kinds.clear();
    h.reset();
  }, 2000).unref();
}
