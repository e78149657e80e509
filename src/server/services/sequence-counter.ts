import type { TransactionEm } from '../db/transactions.js';

/** Reads each conversation's highest stored `seq` (0 for none). */
export type LastSeqs = (tx: TransactionEm, conversationIds: readonly number[]) => Promise<Map<number, number>>;

/**
 * Hands out each conversation's next `seq` values for the database's only writer (embedded
 * SQLite): it reads a conversation's last value once per process and counts from there.
 */
export class SequenceCounter {
  private readonly lastSeq = new Map<number, number>();

  constructor(private readonly lastSeqs: LastSeqs) {}

  /** The next `seq` for each entry of `conversationIds`, in order (a conversation listed twice gets two). */
  async next(tx: TransactionEm, conversationIds: readonly number[]): Promise<number[]> {
    const unknown = [...new Set(conversationIds)].filter((conversationId) => !this.lastSeq.has(conversationId));
    if (unknown.length > 0) {
      for (const [conversationId, seq] of await this.lastSeqs(tx, unknown)) this.lastSeq.set(conversationId, seq);
    }
    return conversationIds.map((conversationId) => {
      const seq = this.lastSeq.get(conversationId)! + 1;
      this.lastSeq.set(conversationId, seq);
      return seq;
    });
  }

  /** After a failed insert: what was handed out for these conversations was not stored. */
  forget(conversationIds: Iterable<number>): void {
    for (const conversationId of conversationIds) this.lastSeq.delete(conversationId);
  }
}
