/**
 * Statements that return rows and run often: the reads every connection makes (its session, each
 * stream's start) and the SQLite message store's INSERT … RETURNING, as hand-written SQL
 * with `?` placeholders and quoted aliases (PostgreSQL folds unquoted ones to lower case).
 *
 * On SQLite a statement is prepared once per connection and kept: through `em.find` a read costs
 * ~300 µs of the ORM's and knex's work (query building, hydration, a fresh `prepare` every
 * time), through `em.execute` ~30 µs, as a kept statement ~5 µs (BENCHMARKS.md, seventh round).
 * It runs only while no one holds the pool's connection (else it waits for it, as any query), so
 * it never reads what a transaction has not committed. On PostgreSQL a read is a network round
 * trip whatever the client does: it goes through `em.execute`.
 *
 * Rows come back as the driver gives them: integers as numbers, except PostgreSQL's `count(*)`
 * (a string); datetimes as `Date` on PostgreSQL and epoch ms on SQLite (`dateOf` reads both);
 * JSON columns as objects on PostgreSQL and text on SQLite (`jsonOf`).
 */
import { storeKindOf, type Orm } from './driver.js';

export type PreparedReads = {
  all<Row>(sql: string, params: readonly unknown[]): Promise<Row[]>;
};

type SqliteStatement = { all(...params: unknown[]): unknown[]; run(): unknown; readonly readonly: boolean };
type SqliteDatabase = { prepare(sql: string): SqliteStatement; readonly open: boolean; readonly inTransaction: boolean };
/** knex's client: its tarn pool holds SQLite's one connection. */
type SqliteClient = {
  acquireConnection(): Promise<SqliteDatabase>;
  releaseConnection(connection: SqliteDatabase): Promise<unknown>;
  pool?: { numUsed(): number };
};

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
  /** The pool's connection, as last borrowed. */
  let known: SqliteDatabase | null = null;

  /**
   * Reads run in one turn of the event loop share one read transaction, ended when the turn's
   * I/O is done (`setImmediate`), before any write and before the pool lends the connection to
   * anyone else. In WAL mode every statement outside a transaction takes and drops a WAL read
   * lock, two `fcntl` calls: ~7.5 of the ~9 µs of a primary-key read here (BENCHMARKS.md,
   * "Eleventh round"); a thousand clients subscribing at once make eight reads each. What a read
   * sees is unchanged: this connection is the only writer, and it ends the snapshot before every
   * write, its own or the ORM's.
   */
  let snapshot: { database: SqliteDatabase; commit: SqliteStatement } | null = null;
  const transactionStatements = new WeakMap<SqliteDatabase, { begin: SqliteStatement; commit: SqliteStatement }>();

  function endSnapshot() {
    const open = snapshot;
    if (!open) return;
    snapshot = null;
    if (open.database.open && open.database.inTransaction) open.commit.run();
  }

  function beginSnapshot(database: SqliteDatabase) {
    // One open at a time: a snapshot on a connection the pool has since replaced ends first.
    endSnapshot();
    let control = transactionStatements.get(database);
    if (!control) transactionStatements.set(database, (control = { begin: database.prepare('BEGIN'), commit: database.prepare('COMMIT') }));
    control.begin.run();
    snapshot = { database, commit: control.commit };
    setImmediate(endSnapshot);
  }

  function run<Row>(database: SqliteDatabase, sql: string, params: readonly unknown[]): Row[] {
    let cache = statements.get(database);
    if (!cache) statements.set(database, (cache = new Map()));
    let statement = cache.get(sql);
    if (!statement) cache.set(sql, (statement = database.prepare(sql)));
    if (!statement.readonly) endSnapshot();
    else if (snapshot?.database !== database && !database.inTransaction) beginSnapshot(database);
    return statement.all(...params.map(sqliteParam)) as Row[];
  }

  /** The ORM's queries and transactions borrow the connection through the pool: end the snapshot first. */
  let guarded: SqliteClient | null = null;
  function guard(client: SqliteClient) {
    if (guarded === client) return;
    guarded = client;
    const acquire = client.acquireConnection.bind(client);
    client.acquireConnection = async () => {
      const database = await acquire();
      endSnapshot();
      return database;
    };
  }

  async function borrowed<Row>(client: SqliteClient, sql: string, params: readonly unknown[]): Promise<Row[]> {
    const database = await client.acquireConnection();
    try {
      known = database;
      return run<Row>(database, sql, params);
    } finally {
      await client.releaseConnection(database);
    }
  }

  return {
    all<Row>(sql: string, params: readonly unknown[]): Promise<Row[]> {
      const client = orm.em.getConnection().getKnex().client as SqliteClient;
      guard(client);
      // Nobody holds the connection (no transaction, no query between its awaits): a statement run
      // synchronously, now, cannot interleave with anything, so it needs no turn of the pool
      // (tarn's acquire costs a timer and several promises). Otherwise wait for it like any query.
      if (known?.open && client.pool?.numUsed() === 0) {
        try {
          return Promise.resolve(run<Row>(known, sql, params));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      return borrowed<Row>(client, sql, params);
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
