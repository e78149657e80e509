import type { Orm } from '../../db/driver.js';
import { idsInRowOrder, sharedMessageStatements, type ReturnedRow } from './sql.js';
import type { MessageStore } from './types.js';

/** What this store uses of a better-sqlite3 `Database` (the connection knex pools). */
type SqliteConnection = { prepare(sql: string): { all(params: unknown[]): unknown[] } };
type PooledClient = {
  acquireConnection(): Promise<SqliteConnection>;
  releaseConnection(connection: SqliteConnection): unknown;
};

/**
 * Embedded SQLite: one process, one connection, and SQLite lets one transaction write at a time,
 * so commits already happen in id order and this writer is the only one that inserts messages:
 * sequences can be counted in memory between batches. A batch is a single INSERT statement (the
 * lookups before it only read), which SQLite applies atomically, so it needs no transaction of
 * its own (BEGIN and COMMIT would be two more statements per batch).
 *
 * The INSERT runs on the pooled connection itself with a prepared statement kept per batch size,
 * not through the ORM's query path, which compiles the SQL again on every call and formats it for
 * logging: at everyday rates a batch is one message, and those two were most of its cost
 * (BENCHMARKS.md, "Seventh round"). The connection is taken from the pool like any query's, so an
 * ORM transaction in flight on it is never joined.
 */
export function createSqliteMessageStore(orm: Orm): MessageStore {
  const statements = sharedMessageStatements(orm);
  const client = orm.em.getConnection().getKnex().client as PooledClient;
  const driver = orm.em.getDriver();
  // Per connection (the pool may replace it), per row count: at most `maxBatch` statements.
  const prepared = new WeakMap<SqliteConnection, Map<number, ReturnType<SqliteConnection['prepare']>>>();

  function statementFor(connection: SqliteConnection, count: number) {
    let bySize = prepared.get(connection);
    if (!bySize) prepared.set(connection, (bySize = new Map()));
    let statement = bySize.get(count);
    if (!statement) bySize.set(count, (statement = connection.prepare(statements.insertSql(count))));
    return statement;
  }

  // No transaction per batch, so no EntityManager per batch either (a fork costs more than the
  // INSERT at everyday rates): this one only runs `lastSeqs`' plain query, which leaves nothing
  // in its identity map; `findStored`, which loads entities, gets a fork of its own.
  const batchEm = orm.em.fork();

  return {
    soleWriter: true,
    runBatch: (work) => work(batchEm),
    ...statements,
    findStored: (_tx, keys) => statements.findStored(orm.em.fork(), keys),
    async insert(_tx, rows, createdAt) {
      if (rows.length === 0) return [];
      const connection = await client.acquireConnection();
      try {
        const returned = statementFor(connection, rows.length).all(statements.insertParams(rows, createdAt)) as ReturnedRow[];
        return idsInRowOrder(rows, returned);
      } catch (error) {
        // The ORM's exception classes (ConstraintViolationException…), as its own queries throw.
        throw error instanceof Error ? driver.convertException(error) : error;
      } finally {
        client.releaseConnection(connection);
      }
    },
  };
}
