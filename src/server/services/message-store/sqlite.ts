import type { Orm } from '../../db/driver.js';
import { preparedReadsOf } from '../../db/prepared.js';
import { SequenceCounter } from '../sequence-counter.js';
import { appendedInRowOrder, sharedMessageStatements, type ReturnedRow } from './sql.js';
import type { MessageStore } from './types.js';

/**
 * Embedded SQLite: one process, one connection, and SQLite lets one transaction write at a time,
 * so commits already happen in id order and this writer is the only one that inserts messages:
 * sequences are counted in memory between batches (`SequenceCounter`). A batch is a single INSERT
 * statement (the lookups before it only read), which SQLite applies atomically, so it needs no
 * transaction of its own (BEGIN and COMMIT would be two more statements per batch).
 *
 * The INSERT … RETURNING runs as a kept prepared statement (one per batch size) through
 * `db/prepared.ts`, not through the ORM's query path, which compiles the SQL again on every call
 * and formats it for logging: at everyday rates a batch is one message, and those two were most
 * of its cost (BENCHMARKS.md, "Seventh round, send path"). Like any query it waits for an ORM
 * transaction holding the connection, so it never joins one.
 */
export function createSqliteMessageStore(orm: Orm): MessageStore {
  const statements = sharedMessageStatements(orm);
  const counter = new SequenceCounter((tx, conversationIds) => statements.lastSeqs(tx, conversationIds));
  const driver = orm.em.getDriver();
  // No transaction per batch, so no EntityManager per batch either (a fork costs more than the
  // INSERT at everyday rates): this one only runs `lastSeqs`' plain query, which leaves nothing
  // in its identity map; `findStored`, which loads entities, gets a fork of its own.
  const batchEm = orm.em.fork();

  return {
    runBatch: (work) => work(batchEm),
    findStored: (_tx, keys) => statements.findStored(orm.em.fork(), keys),
    async append(tx, messages, createdAt) {
      if (messages.length === 0) return [];
      const conversationIds = messages.map((message) => message.conversationId);
      const seqs = await counter.next(tx, conversationIds);
      const rows = messages.map((message, index) => ({ ...message, seq: seqs[index]! }));
      try {
        const returned = await preparedReadsOf(orm).all<ReturnedRow>(statements.insertSql(rows.length), statements.insertParams(rows, createdAt));
        return appendedInRowOrder(rows, returned);
      } catch (error) {
        // What was handed out for these conversations was not stored.
        counter.forget(conversationIds);
        // The ORM's exception classes (ConstraintViolationException…), as its own queries throw.
        throw error instanceof Error ? driver.convertException(error) : error;
      }
    },
  };
}
