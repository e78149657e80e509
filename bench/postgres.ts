/**
 * `--store=postgresql` (BENCH_STORE in the server processes): each server process creates a
 * database of its own on the PostgreSQL at BENCH_POSTGRES_URL and drops it when it closes.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';

export const benchStore = process.env.BENCH_STORE === 'postgresql' ? 'postgresql' : 'sqlite';
const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<Row extends object>(sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

export type BenchDatabase = { name: string; url: string; drop(): Promise<void> };

export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: async () => void (await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
}

/**
 * CPU time (seconds) of the PostgreSQL backends connected to `database`, per backend pid, from
 * /proc: what serving this database cost PostgreSQL, without its shared background processes
 * (WAL writer, checkpointer) and without other databases' work. Null where /proc is not
 * PostgreSQL's (another machine, not Linux).
 */
export async function postgresBackendsCpu(database: string): Promise<Map<number, number> | null> {
  const rows = await admin<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
    if (!stat?.includes('(postgres)')) continue;
    // Fields 14 and 15 (utime, stime), counted after the command name's closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks.set(pid, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
  }
  return rows.length > 0 && ticks.size === 0 ? null : ticks;
}

/** Linux's USER_HZ: /proc counts CPU time in these. */
const CLOCK_TICKS = 100;

/** CPU seconds the backends spent between two readings (a backend that appeared meanwhile counts from zero). */
export function backendsCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let seconds = 0;
  for (const [pid, total] of after) seconds += total - (before.get(pid) ?? 0);
  return seconds;
}
