/**
 * Reads that run for every connection (its session, each stream's start), as hand-written SQL
 * with `?` placeholders and quoted aliases (PostgreSQL folds unquoted ones to lower case).
 *
 * On SQLite a statement is prepared once per connection and kept: through `em.find` a read costs
 * ~300 µs of the ORM's and knex's work (query building, hydration, a fresh `prepare` every
 * time), through `em.execute` ~30 µs, as a kept statement ~5 µs (BENCHMARKS.md, seventh round).
 * It still borrows the connection from the pool, so it waits for a transaction holding it and
 * never reads what one has not committed. On PostgreSQL a read is a network round trip whatever
 * the client does: it goes through `em.execute`.
 *
 * Rows come back as the driver gives them: integers as numbers, except PostgreSQL's `count(*)`
 * (a string); datetimes as `Date` on PostgreSQL and epoch ms on SQLite (`dateOf` reads both);
 * JSON columns as objects on PostgreSQL and text on SQLite (`jsonOf`).
 */
import { storeKindOf, type Orm } from './driver.js';

export type PreparedReads = {
  all<Row>(sql: string, params: readonly unknown[]): Promise<Row[]>;
};

type SqliteStatement = { all(...params: unknown[]): unknown[] };
type SqliteDatabase = { prepare(sql: string): SqliteStatement };
type SqlitePool = { acquireConnection(): Promise<SqliteDatabase>; releaseConnection(connection: SqliteDatabase): Promise<unknown> };

const readsByOrm = new WeakMap<Orm, PreparedReads>();

/** The ORM's prepared reads (one statement cache per ORM). */
export function preparedReadsOf(orm: Orm): PreparedReads {
  let reads = readsByOrm.get(orm);
  if (!reads) readsByOrm.set(orm, (reads = storeKindOf(orm) === 'sqlite' ? sqliteReads(orm) : executedReads(orm)));
  return reads;
}

function executedReads(orm: Orm): PreparedReads {
  return { all: <Row>(sql: string, params: readonly unknown[]) => orm.em.getConnection().execute<Row[]>(sql, [...params], 'all') };
}

function sqliteReads(orm: Orm): PreparedReads {
  // Per connection object: a pool that replaced its connection starts a fresh cache.
  const statements = new WeakMap<SqliteDatabase, Map<string, SqliteStatement>>();
  return {
    async all<Row>(sql: string, params: readonly unknown[]): Promise<Row[]> {
      const pool = orm.em.getConnection().getKnex().client as SqlitePool;
      const database = await pool.acquireConnection();
      try {
        let cache = statements.get(database);
        if (!cache) statements.set(database, (cache = new Map()));
        let statement = cache.get(sql);
        if (!statement) cache.set(sql, (statement = database.prepare(sql)));
        return statement.all(...params.map(sqliteParam)) as Row[];
      } finally {
        await pool.releaseConnection(database);
      }
    },
  };
}

/** As knex binds them for better-sqlite3: a Date as epoch ms, a boolean as 0 or 1. */
const sqliteParam = (value: unknown) => (value instanceof Date ? value.valueOf() : typeof value === 'boolean' ? Number(value) : value);

/** A (non-null) datetime column as either driver returns it. */
export function dateOf(value: unknown): Date {
  if (value instanceof Date) return value;
  return new Date(typeof value === 'string' && !/^\d+$/.test(value) ? value : Number(value));
}

/** A JSON column as either driver returns it. */
export const jsonOf = <T>(value: unknown): T => (typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));
