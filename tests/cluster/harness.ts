import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { deleteRedisKeys, REDIS_URL } from '../redis-helpers.js';
import { spawnServer } from '../server-process.js';

/**
 * Several real server processes (the build `npm start` runs) on one PostgreSQL database and one
 * Redis, optionally behind nginx rendered from deploy/nginx.conf: what `npm run cluster` runs.
 */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// One build per test process: test files run in parallel processes, and one must not start a
// bundle another is rewriting.
const outdir = join('.tmp', `cluster-build-${process.pid}`);
process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
let built: Promise<void> | null = null;
export function buildOnce(): Promise<void> {
  built ??= (async () => {
    // @ts-expect-error: a plain .mjs script without type declarations
    const { buildServer } = (await import('../../scripts/build-server.mjs')) as { buildServer(options: { outdir: string }): Promise<void> };
    await buildServer({ outdir });
  })();
  return built;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A PostgreSQL database of the test's own, dropped by `drop()`. */
export async function createDatabase() {
  const name = `cluster_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export type Instance = {
  port: number;
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
};

export type ClusterOptions = {
  databaseUrl: string;
  redisPrefix?: string;
  env?: Record<string, string>;
};

/** Starts one instance (the build) on `port` and resolves once it listens. */
export async function startInstance(port: number, { databaseUrl, redisPrefix, env = {} }: ClusterOptions): Promise<Instance> {
  await buildOnce();
  const { child, output, exited } = await spawnServer(['--enable-source-maps', join(outdir, 'main.mjs')], {
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    ...(redisPrefix ? { REDIS_PREFIX: redisPrefix } : {}),
    SERVICE_TOKEN: 'cluster-test-service-token-0123456789abcdef',
    ...env,
  });
  return { port, url: `http://127.0.0.1:${port}`, child, output, exited };
}

/** nginx in front of `ports`, round robin, rendered from the checked-in config. */
export async function startBalancer(upstreamPorts: number[]) {
  // @ts-expect-error: a plain .mjs script without type declarations
  const { renderNginxConfig, startNginx } = (await import('../../scripts/cluster.mjs')) as {
    renderNginxConfig(options: { prefix: string; listenPort: number; upstreamPorts: number[]; exposeUpstream?: boolean }): string;
    startNginx(configPath: string, prefix: string): ChildProcess;
  };
  const listenPort = await freePort();
  const prefix = join(process.cwd(), '.tmp', `nginx-${listenPort}`);
  // X-Upstream tells a test which instance a socket landed on.
  const nginx = startNginx(renderNginxConfig({ prefix, listenPort, upstreamPorts, exposeUpstream: true }), prefix);
  const url = `http://127.0.0.1:${listenPort}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${listenPort}/trpc`,
    async stop() {
      nginx.kill('SIGQUIT');
      await new Promise((resolve) => nginx.once('exit', resolve));
    },
  };
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>;

/**
 * `count` instances on a database and a Redis key prefix of their own, with nginx in front. The
 * instances keep their ports across `restart`, so the balancer finds them again.
 */
export async function startCluster(count = 3, env: Record<string, string> = {}) {
  await buildOnce();
  const database = await createDatabase();
  const redisPrefix = `cluster-${randomUUID().slice(0, 8)}:`;
  const options: ClusterOptions = { databaseUrl: database.url, redisPrefix, env: { SEED_DEMO: 'false', ...env } };
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  // One after the other: the first applies the migrations, the others find none pending.
  const instances: Instance[] = [];
  for (const port of ports) instances.push(await startInstance(port, options));
  const balancer = await startBalancer(ports);
  return {
    instances,
    balancer,
    redisPrefix,
    /** The instances' database (for assertions on what they stored). */
    databaseUrl: database.url,
    /** Which instance an `X-Upstream` address names. */
    indexOf: (upstream: string) => ports.findIndex((port) => upstream.endsWith(`:${port}`)),
    /** kill -9. */
    async kill(index: number) {
      const instance = instances[index]!;
      instance.child.kill('SIGKILL');
      await instance.exited;
    },
    /** SIGTERM (graceful shutdown); resolves with the exit code. */
    async stop(index: number) {
      const instance = instances[index]!;
      if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`instance ${index} still running 20 s after SIGTERM:\n${instance.output()}`)), 20_000)));
      return Promise.race([instance.exited, late]).finally(() => clearTimeout(timer));
    },
    async start(index: number) {
      instances[index] = await startInstance(ports[index]!, options);
    },
    async close() {
      await balancer.stop();
      await Promise.all(instances.map((instance) => {
        if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGTERM');
        return instance.exited;
      }));
      await database.drop();
      await deleteRedisKeys(redisPrefix);
    },
  };
}
