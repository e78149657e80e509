/**
 * `npm run bench -- --cluster`: the fan-out workload on several deployments in one run, from one
 * embedded instance to two instances on PostgreSQL + Redis, with Socket.IO + its Redis adapter on
 * two instances as the baseline. The instances of a deployment share one database (made here,
 * dropped after) and one Redis key and channel prefix (unique per deployment, removed after).
 */
import { Redis } from 'ioredis';
import { startServerProcess, type ServerKind, type ServerProcess, type SharedBackends } from './control.js';
import { backendsCpuDelta, createBenchDatabase, postgresBackendsCpu, type BenchDatabase } from './postgres.js';
import { deleteKeys, redisCpuSeconds, startPrivateRedis } from './redis.js';
import { fanoutOn, type BackendMeters, type FanoutParams, type FanoutStep } from './workloads.js';

export type ClusterSetup = {
  /** Key in the results and for `--setups=`. */
  name: string;
  label: string;
  kind: ServerKind;
  instances: number;
  /** On PostgreSQL + Redis (shared by the instances); otherwise the embedded defaults. */
  shared: boolean;
};

export const CLUSTER_SETUPS: ClusterSetup[] = [
  { name: 'embedded', label: 'ours ×1, SQLite + in-process bus', kind: 'trpc', instances: 1, shared: false },
  { name: 'pg-redis-1', label: 'ours ×1, PostgreSQL + Redis', kind: 'trpc', instances: 1, shared: true },
  { name: 'pg-redis-2', label: 'ours ×2, PostgreSQL + Redis', kind: 'trpc', instances: 2, shared: true },
  { name: 'socketio-redis-2', label: 'Socket.IO + Redis adapter ×2, PostgreSQL', kind: 'socketio', instances: 2, shared: true },
];

export type ClusterRun = { params: FanoutParams; steps: FanoutStep[] };

/** The Redis of a cluster run: BENCH_REDIS_URL, or a private `redis-server` (its CPU then is the run's alone). */
export type ClusterRedis = { url: string; private: boolean; cpuSeconds(): Promise<number>; cleanup(prefix: string): Promise<void>; close(): Promise<void> };

export async function openClusterRedis(): Promise<ClusterRedis> {
  const given = process.env.BENCH_REDIS_URL;
  const server = given ? null : await startPrivateRedis();
  const url = given ?? server!.url;
  const admin = new Redis(url);
  return {
    url,
    private: server !== null,
    cpuSeconds: () => redisCpuSeconds(admin),
    cleanup: (prefix) => deleteKeys(admin, prefix),
    async close() {
      admin.disconnect();
      await server?.kill();
    },
  };
}

/** Starts the deployment, runs the fan-out on it, and removes its processes, database and Redis keys. */
export async function runClusterFanout(setup: ClusterSetup, params: FanoutParams, redis: ClusterRedis, log: (line: string) => void = () => {}): Promise<ClusterRun> {
  const database = setup.shared ? await createBenchDatabase(`bench_cluster_${setup.kind}`) : null;
  const redisPrefix = `bench:${process.pid}:${Date.now().toString(36)}:${setup.name}:`;
  const shared: SharedBackends | null = database ? { databaseUrl: database.url, redisUrl: redis.url, redisPrefix } : null;
  const servers: ServerProcess[] = [];
  try {
    // One after the other: the first applies the migrations (or creates the table), the others find them.
    for (let i = 0; i < setup.instances; i++) servers.push(await startServerProcess(setup.kind, shared));
    return await fanoutOn(servers, params, { label: setup.name, log, backends: database ? backendMeters(redis, database) : {} });
  } finally {
    await Promise.all(servers.map((server) => server.close()));
    await database?.drop();
    if (shared) await redis.cleanup(redisPrefix);
  }
}

function backendMeters(redis: ClusterRedis, database: BenchDatabase): BackendMeters {
  return {
    async redis() {
      const before = await redis.cpuSeconds();
      return async () => (await redis.cpuSeconds()) - before;
    },
    async postgres() {
      const before = await postgresBackendsCpu(database.name);
      return async () => {
        const after = before && (await postgresBackendsCpu(database.name));
        return before && after ? backendsCpuDelta(before, after) : null;
      };
    },
  };
}
