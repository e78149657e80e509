import type { TransactionEm } from '../db/transactions.js';
import type { MessageStore } from './message-store/index.js';

/**
 * Hands out each conversation's next `seq` values inside a batch's transaction. A store that is
 * the database's only writer lets it remember the last value between batches (one read per
 * conversation per process); otherwise it reads them in every batch, under the store's lock.
 */
export class SequenceCounter {
  private readonly lastSeq = new Map<number, number>();

  constructor(private readonly store: MessageStore) {}

  /** The next `seq` for each entry of `conversationIds`, in order (a conversation listed twice gets two). */
  async next(tx: TransactionEm, conversationIds: readonly number[]): Promise<number[]> {
    const distinct = [...new Set(conversationIds)];
    const unknown = this.store.soleWriter ? distinct.filter((conversationId) => !this.lastSeq.has(conversationId)) : distinct;
    if (unknown.length > 0) {
      for (const [conversationId, seq] of await this.store.lastSeqs(tx, unknown)) this.lastSeq.set(conversationId, seq);
    }
    return conversationIds.map((conversationId) => {
      const seq = this.lastSeq.get(conversationId)! + 1;
      this.lastSeq.set(conversationId, seq);
      return seq;
    });
  }

  /** After a rolled-back batch: what was handed out for these conversations was not stored. */
  forget(conversationIds: Iterable<number>): void {
    for (const conversationId of conversationIds) this.lastSeq.delete(conversationId);
  }
}
