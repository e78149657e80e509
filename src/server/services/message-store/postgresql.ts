import type { Knex, Orm } from '../../db/driver.js';
import { lockCommitOrder } from '../../db/commit-order.js';
import { Message } from '../../db/entities.js';
import { inTransaction } from '../../db/transactions.js';
import { appendedInRowOrder, sharedMessageStatements, type ReturnedRow } from './sql.js';
import type { MessageStore } from './types.js';

/** The batch in one statement: `append_messages` (migration `…_append_messages`), for node-postgres. */
const APPEND_SQL =
  'SELECT "new_id" AS "id", "new_conversation_id" AS "conversation", "new_seq" AS "seq" FROM "append_messages"($1::int[], $2::int[], $3::text[], $4::varchar[], $5)';
/** The same with knex's placeholders, inside a knex transaction. */
const APPEND_SQL_KNEX = APPEND_SQL.replace(/\$\d/g, '?');

/** What this store uses of node-postgres' client and of knex's pool of them. */
type PgClient = { query(text: string, values: unknown[]): Promise<{ rows: ReturnedRow[] }> };
type PgPool = { acquireConnection(): Promise<PgClient>; releaseConnection(connection: PgClient): Promise<unknown> };

/**
 * PostgreSQL with any number of server processes. A batch is one call of the `append_messages`
 * function, one round trip, in the statement's own transaction. The function first takes the
 * messages' commit-order lock (`db/commit-order.ts`), held until that transaction commits, then
 * numbers the rows after each conversation's highest stored `seq`:
 * - sequences: no other writer can insert into any conversation between that read and the
 *   commit, so they are gap-free and unique (the (conversation, seq) unique index backs them);
 * - ids: they are drawn under the lock, so a higher id never becomes visible before a lower one,
 *   and streams tracked by message id never skip a late commit.
 * Batches from all processes commit one after the other, but the lock is held only while the
 * database runs the statement, never across a network round trip (BENCHMARKS.md, "Ninth round").
 * A batch written again after a failure runs in a transaction that takes the lock before it looks
 * up stored keys; the function's lock is then already held.
 *
 * The call goes to node-postgres on a connection of knex's pool, with bound parameters: the ORM's
 * `execute` formats every value into the SQL text (arrays included), and knex's own query path
 * costs about as much again as the client's (BENCHMARKS.md, "Ninth round"). An unnamed statement,
 * not a named prepared one: those break behind PgBouncer in transaction pooling, which hands each
 * transaction whichever server connection is free. A connection that fails is dropped by the
 * pool, as for any query.
 */
export function createPostgresqlMessageStore(orm: Orm): MessageStore {
  const statements = sharedMessageStatements(orm);
  const driver = orm.em.getDriver();
  const knex = orm.em.getConnection('write').getKnex();
  const platform = orm.em.getPlatform();
  const pool = knex.client as unknown as PgPool;
  // Handed to a batch's work outside a transaction: `append` does not query through it, so
  // nothing enters its identity map.
  const batchEm = orm.em.fork();

  /** One batch in the statement's own transaction, on a pooled connection. */
  async function appendAlone(values: unknown[]): Promise<ReturnedRow[]> {
    const connection = await pool.acquireConnection();
    try {
      return (await connection.query(APPEND_SQL, values)).rows;
    } finally {
      await pool.releaseConnection(connection);
    }
  }

  return {
    runBatch: (work, { lookUpRetries }) =>
      lookUpRetries
        ? inTransaction(orm, async (tx) => {
            await lockCommitOrder(tx, Message);
            return work(tx);
          })
        : work(batchEm),
    findStored: statements.findStored,
    async append(tx, messages, createdAt) {
      if (messages.length === 0) return [];
      const values = [
        messages.map((message) => message.conversationId),
        messages.map((message) => message.senderId),
        messages.map((message) => message.content),
        messages.map((message) => message.clientMessageId),
        platform.processDateProperty(createdAt),
      ];
      let returned: ReturnedRow[];
      try {
        const transaction = tx.getTransactionContext<Knex.Transaction>();
        returned = transaction ? (await knex.raw(APPEND_SQL_KNEX, values).transacting(transaction)).rows : await appendAlone(values);
      } catch (error) {
        // The ORM's exception classes (ConstraintViolationException…), as its own queries throw.
        throw error instanceof Error ? driver.convertException(error) : error;
      }
      return appendedInRowOrder(messages, returned);
    },
  };
}
