import type { Orm } from '../../db/driver.js';
import { inCommitOrder } from '../../db/commit-order.js';
import { Message } from '../../db/entities.js';
import { sharedMessageStatements } from './sql.js';
import type { MessageStore } from './types.js';

/**
 * PostgreSQL with any number of server processes. Each batch's transaction first takes the
 * messages' commit-order lock (a transaction-scoped advisory lock, `db/commit-order.ts`), held
 * until it commits or rolls back, then reads each conversation's last `seq`:
 * - sequences: no other writer can insert into any conversation between that read and the
 *   commit, so `max(seq) + 1…` is gap-free and unique (the (conversation, seq) unique index
 *   backs it);
 * - ids: they are drawn by the INSERT under the lock, so a higher id never becomes visible
 *   before a lower one, and streams tracked by message id never skip a late commit.
 * The price is one statement per batch and batches from all processes committing one after the
 * other; group commit makes each batch larger while it waits, so throughput holds.
 */
export function createPostgresqlMessageStore(orm: Orm): MessageStore {
  return {
    soleWriter: false,
    runBatch: (work) => inCommitOrder(orm, Message, work),
    ...sharedMessageStatements(orm),
  };
}
