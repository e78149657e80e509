/**
 * Which store the suite runs on: `TEST_STORE=postgresql` (the `postgresql` vitest project) or
 * SQLite (the default project). On PostgreSQL each test file gets a database of its own
 * (`tests/setup/postgresql.ts` creates and drops it) and each app a fresh schema in it, as each
 * gets a fresh in-memory SQLite database on the default store.
 */
import pg from 'pg';
import type { Config } from '../src/server/config.js';
import type { StoreKind } from '../src/server/db/driver.js';

export const TEST_STORE: StoreKind = process.env.TEST_STORE === 'postgresql' ? 'postgresql' : 'sqlite';
export const onPostgres = TEST_STORE === 'postgresql';

/** Where the suite's PostgreSQL databases are created (trust auth on this machine and in CI). */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(database: string, base = POSTGRES_ADMIN_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs SQL on a PostgreSQL database through its own short-lived connection. */
export async function postgresQuery<Row extends object = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

let schemas = 0;

/**
 * The database settings of a fresh, empty store: `:memory:` SQLite, or on PostgreSQL a new schema
 * in this test file's database (its migrations run when the app opens it).
 */
export type TestStore = Pick<Config, 'databasePath' | 'databaseUrl' | 'databaseSchema'>;

export function freshStoreConfig(): TestStore {
  if (!onPostgres) return { databasePath: ':memory:', databaseUrl: null, databaseSchema: null };
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run PostgreSQL tests through the vitest project, whose setup creates it');
  return { databasePath: ':memory:', databaseUrl: url, databaseSchema: `app_${process.pid}_${++schemas}` };
}
