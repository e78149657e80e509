import type { Knex, Orm } from '../../db/driver.js';
import { lockCommitOrder } from '../../db/commit-order.js';
import { Message } from '../../db/entities.js';
import { inTransaction } from '../../db/transactions.js';
import { appendedInRowOrder, sharedMessageStatements, type ReturnedRow } from './sql.js';
import type { MessageStore } from './types.js';

/** The batch in one statement: `append_messages` (migration `…_append_messages`). */
const APPEND_SQL =
  'SELECT "new_id" AS "id", "new_conversation_id" AS "conversation", "new_seq" AS "seq" FROM "append_messages"(?::int[], ?::int[], ?::text[], ?::varchar[], ?)';

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
 * The call goes to knex directly with bound parameters: the ORM's `execute` formats every value
 * into the SQL text (arrays included), which PostgreSQL then parses again for every batch.
 */
export function createPostgresqlMessageStore(orm: Orm): MessageStore {
  const statements = sharedMessageStatements(orm);
  const driver = orm.em.getDriver();
  const knex = orm.em.getConnection('write').getKnex();
  const platform = orm.em.getPlatform();
  // Used only for `append` outside a transaction, which goes through knex: nothing enters its identity map.
  const batchEm = orm.em.fork();

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
      const query = knex.raw(APPEND_SQL, [
        messages.map((message) => message.conversationId),
        messages.map((message) => message.senderId),
        messages.map((message) => message.content),
        messages.map((message) => message.clientMessageId),
        platform.processDateProperty(createdAt),
      ]);
      const transaction = tx.getTransactionContext<Knex.Transaction>();
      if (transaction) void query.transacting(transaction);
      let returned: ReturnedRow[];
      try {
        returned = ((await query) as { rows: ReturnedRow[] }).rows;
      } catch (error) {
        // The ORM's exception classes (ConstraintViolationException…), as its own queries throw.
        throw error instanceof Error ? driver.convertException(error) : error;
      }
      return appendedInRowOrder(messages, returned);
    },
  };
}
