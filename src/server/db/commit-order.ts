/**
 * Streams whose cursor is a table's id (`inbox.events` by message id, `notification.stream` by
 * notification id) resume with "everything after id N". That is only safe if no row with a lower
 * id can become visible after a row with a higher one. SQLite guarantees it (one writing
 * transaction at a time). On PostgreSQL, sequence values are drawn when rows are inserted, and
 * two transactions can commit in the other order: id 101 visible, then id 100.
 *
 * So on PostgreSQL every transaction that inserts into such a table first takes that table's
 * transaction-scoped advisory lock. It is released only once the transaction has committed (or
 * rolled back) and become visible, so the next inserter draws its ids after this one's rows are
 * visible: ids become visible in increasing order. One statement per transaction, not per row.
 */

import { inTransaction } from './transactions.js';
import { storeKindOf, type EntityManager } from './driver.js';

/** Takes `entity`'s table's commit-order lock until the current transaction of `tx` ends (PostgreSQL; a no-op on SQLite). */
export async function lockCommitOrder(tx: EntityManager, entity: { meta: { className: string } }): Promise<void> {
  if (storeKindOf({ config: tx.config }) !== 'postgresql') return;
  if (!tx.isInTransaction()) throw new Error('lockCommitOrder needs a transaction: the lock is released when it ends');
  // hashtext: a stable 32-bit key per table, in a namespace no other code uses.
  const table = tx.getMetadata().get(entity.meta.className).tableName;
  await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', [`commit-order:${table}`], 'run');
}

/**
 * Runs `work` in a transaction holding `entity`'s commit-order lock (PostgreSQL). On SQLite it
 * runs as it is: commits are in order there, and a single statement needs no transaction.
 */
export function inCommitOrder<T>(orm: { em: EntityManager }, entity: { meta: { className: string } }, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  if (storeKindOf({ config: orm.em.config }) !== 'postgresql') return work(orm.em);
  return inTransaction(orm, async (tx) => {
    await lockCommitOrder(tx, entity);
    return work(tx);
  });
}
