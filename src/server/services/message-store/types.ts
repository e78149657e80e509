import type { MessageDTO } from '../../../shared/dto.js';
import type { TransactionEm } from '../../db/transactions.js';

/** A message about to be stored; the store numbers it. */
export type NewMessage = {
  conversationId: number;
  senderId: number;
  content: string;
  clientMessageId: string;
};

/** A message about to be stored with its sequence already assigned. */
export type NewMessageRow = NewMessage & { seq: number };

/** What the store assigned to one appended message. */
export type Appended = { id: number; seq: number };

export type IdempotencyKey = { senderId: number; clientMessageId: string };

/**
 * What the group-commit writer needs from the database for one batch. One implementation per
 * driver (`sqlite.ts`, `postgresql.ts`), chosen by `messageStoreFor`; the writer is the same on
 * both.
 */
export interface MessageStore {
  /**
   * Runs the work of one batch. With `lookUpRetries` (a batch written again after a failure), the
   * work looks up stored keys before appending, and on PostgreSQL it runs in a transaction that
   * first takes the messages' commit-order lock, so what it finds cannot change before it
   * appends. Without, `append` is the batch's only write and is atomic on its own.
   */
  runBatch<T>(work: (em: TransactionEm) => Promise<T>, options: { lookUpRetries: boolean }): Promise<T>;
  /** The stored messages with any of these keys (idempotent retries). */
  findStored(tx: TransactionEm, keys: readonly IdempotencyKey[]): Promise<MessageDTO[]>;
  /**
   * Stores `messages`, all or none, each numbered after the highest `seq` of its conversation
   * (messages of one conversation get consecutive numbers, in order), with ids that become visible
   * in increasing order across writers (`db/commit-order.ts`). Returns each one's id and seq, in
   * order.
   */
  append(tx: TransactionEm, messages: readonly NewMessage[], createdAt: Date): Promise<Appended[]>;
}
