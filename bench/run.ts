/**
 * `npm run bench [-- --quick] [-- --only=trpc,socketio,ws] [-- --workloads=fanout,idle,storm,cluster] [-- --store=postgresql]`
 * `--store=postgresql`: our server on PostgreSQL and the Socket.IO baseline with one `pg` INSERT
 * per message (each server process on a database of its own, at BENCH_POSTGRES_URL).
 * `--cluster` (= `--workloads=cluster`; `--setups=embedded,pg-redis-1,pg-redis-2,socketio-redis-2`
 * to run fewer): the fan-out at 500, 1,000 and 2,000 msg/s and flat out on ours embedded ×1, ours
 * on PostgreSQL + Redis ×1 and ×2, and Socket.IO + its Redis adapter + `pg` ×2 (bench/cluster.ts);
 * with two instances each group's members alternate between them. CPU is every instance summed,
 * Redis's apart (a private `redis-server` per run, or the one at BENCH_REDIS_URL).
 * Runs every workload against our server and both baselines in one run and writes
 * bench-results/<timestamp>.{md,json} (and latest.{md,json}).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { ServerKind } from './control.js';
import { CLUSTER_SETUPS, openClusterRedis, runClusterFanout } from './cluster.js';
import { clusterTable, fanoutTable, idleTable, stormTable, targetsTable, type Results } from './report.js';
import { runFanout, runIdle, runStorm, type FanoutParams, type IdleParams, type StormParams } from './workloads.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]?.split(',');
const kinds = (option('only') ?? ['trpc', 'socketio', 'ws']) as ServerKind[];
const workloads = args.includes('--cluster') ? ['cluster'] : (option('workloads') ?? ['fanout', 'idle', 'storm']);
// Read by the server processes (bench/control.ts, bench/postgres.ts), which inherit the environment.
if (option('store')?.[0] === 'postgresql') process.env.BENCH_STORE = 'postgresql';

const fanout: FanoutParams = quick
  ? { users: 200, groupSize: 10, rates: [250, 1000], stepMs: 1200, warmupMs: 300, window: 4, workers: 2, halfFlat: true }
  : { users: 1000, groupSize: 10, rates: [250, 500, 1000, 2000, 5000], stepMs: 5000, warmupMs: 1000, window: 4, workers: 2, halfFlat: true };
const idle: IdleParams = quick
  ? { counts: [500], workers: 2, concurrency: 100, settleMs: 0, idleCpuMs: 3000 }
  : { counts: [1000, 5000, 10_000], workers: 2, concurrency: 100, settleMs: 10_000, idleCpuMs: 15_000, idleCpuWaitMs: 10_000, freshIdleMs: 60_000 };
const storm: StormParams = quick
  ? { users: 200, groupSize: 10, rate: 500, beforeMs: 800, afterMs: 800, workers: 2 }
  : { users: 1000, groupSize: 10, rate: 1000, beforeMs: 3000, afterMs: 2000, workers: 2 };
// One storm per size, each on a fresh server: after a deploy every user of an instance reconnects.
let stormSizes = quick ? [200] : [1000, 10_000];

// Overrides for iteration: --rates=250,1000 --window=8 --step-ms=3000 --warmup-ms=1000 --users=1000 (fan-out)
// --storm-users=1000,10000 --idle=1000,5000 --settle-ms=0 --idle-cpu-ms=15000 --idle-cpu-wait-ms=10000 --fresh-idle-ms=60000
const numbers = (name: string) => option(name)?.map(Number);
if (numbers('rates')) fanout.rates = numbers('rates')!.filter((n) => n > 0);
if (numbers('window')) fanout.window = numbers('window')![0]!;
if (numbers('step-ms')) fanout.stepMs = numbers('step-ms')![0]!;
if (numbers('warmup-ms')) fanout.warmupMs = numbers('warmup-ms')![0]!;
if (numbers('users')) fanout.users = numbers('users')![0]!;
if (numbers('storm-users')) stormSizes = numbers('storm-users')!;
if (numbers('idle')) idle.counts = numbers('idle')!;
if (option('subs')) idle.extra = option('subs')!.filter(Boolean);
if (numbers('settle-ms')) idle.settleMs = numbers('settle-ms')![0]!;
if (numbers('idle-cpu-ms')) idle.idleCpuMs = numbers('idle-cpu-ms')![0]!;
if (numbers('idle-cpu-wait-ms')) idle.idleCpuWaitMs = numbers('idle-cpu-wait-ms')![0]!;
if (numbers('fresh-idle-ms')) idle.freshIdleMs = numbers('fresh-idle-ms')![0]!;
// The cluster option judges 1,000 msg/s; flat out is measured but the machine, not the design, sets it.
const cluster: FanoutParams = { ...fanout, rates: numbers('rates') ? fanout.rates : quick ? [500, 1000] : [500, 1000, 2000], halfFlat: false };
const setups = CLUSTER_SETUPS.filter((setup) => option('setups')?.includes(setup.name) ?? true);

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
};
const log = (line: string) => console.log(line);
log(`Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`);
log(`Mode: ${quick ? 'quick' : 'full'}; store: ${process.env.BENCH_STORE ?? 'sqlite'}; servers: ${kinds.join(', ')}; workloads: ${workloads.join(', ')}${workloads.includes('cluster') ? `; cluster setups: ${setups.map((s) => s.name).join(', ')}` : ''}`);

const results: Results = { startedAt: new Date().toISOString(), mode: quick ? 'quick' : 'full', machine, fanout: {}, idle: {}, storm: {}, cluster: {} };
if (workloads.includes('fanout')) {
  log(`\nfan-out: ${JSON.stringify(fanout)}`);
  for (const kind of kinds) results.fanout[kind] = await runFanout(kind, fanout, log);
}
if (workloads.includes('storm')) {
  log(`\nreconnect storm: ${JSON.stringify({ ...storm, users: stormSizes })}`);
  for (const users of stormSizes) for (const kind of kinds) (results.storm[kind] ??= []).push(await runStorm(kind, { ...storm, users }, log));
}
if (workloads.includes('idle')) {
  log(`\nidle connections: ${JSON.stringify(idle)}`);
  for (const kind of kinds) results.idle[kind] = await runIdle(kind, idle, log);
}
if (workloads.includes('cluster')) {
  const redis = await openClusterRedis();
  log(`\ncluster: ${JSON.stringify(cluster)}; Redis ${redis.private ? `private redis-server at ${redis.url}` : redis.url}`);
  try {
    for (const setup of setups) results.cluster[setup.name] = await runClusterFanout(setup, cluster, redis, log);
  } finally {
    await redis.close();
  }
}
results.finishedAt = new Date().toISOString();
const loadAverageAtEnd = os.loadavg().map((n) => Math.round(n * 100) / 100);
results.machine.loadAverageAtEnd = loadAverageAtEnd;

const markdown = [
  `# Benchmark results (${results.mode} run, ${results.startedAt})`,
  '',
  `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, Node ${machine.node}, ${machine.platform}; load average at start ${machine.loadAverageAtStart.join(' ')}, at the end ${loadAverageAtEnd.join(' ')}. Server and load generators share the machine.`,
  '',
  ...(workloads.includes('fanout') ? fanoutTable(results, fanout) : []),
  ...(workloads.includes('storm') ? stormTable(results, storm, stormSizes) : []),
  ...(workloads.includes('idle') ? idleTable(results, idle) : []),
  ...(workloads.includes('cluster') ? clusterTable(results, cluster, setups) : []),
  ...(workloads.some((w) => w !== 'cluster') ? targetsTable(results) : []),
].join('\n');
mkdirSync('bench-results', { recursive: true });
const stamp = results.startedAt.replace(/[:.]/g, '-');
for (const name of [stamp, 'latest']) {
  writeFileSync(`bench-results/${name}.json`, JSON.stringify(results, null, 2));
  writeFileSync(`bench-results/${name}.md`, markdown);
}
log(`\n${markdown}\n\nWritten to bench-results/${stamp}.{md,json}`);
