import type { MessageDTO } from '../../../shared/dto.js';
import type { TransactionEm } from '../../db/transactions.js';

/** A message about to be stored: its sequence is already assigned. */
export type NewMessageRow = {
  conversationId: number;
  seq: number;
  senderId: number;
  content: string;
  clientMessageId: string;
};

export type IdempotencyKey = { senderId: number; clientMessageId: string };

/**
 * What the group-commit writer needs from the database, inside the transaction of one batch.
 * One implementation per driver (`sqlite.ts`, `postgresql.ts`), chosen by `messageStoreFor`;
 * the writer is the same on both.
 */
export interface MessageStore {
  /**
   * True when this process is the database's only writer (embedded SQLite): the sequence counter
   * may then remember each conversation's last `seq` between batches instead of reading it.
   */
  readonly soleWriter: boolean;
  /**
   * Runs the work of one batch so that it is stored entirely or not at all. With several writers:
   * in a transaction that first serializes message commits until it ends, which makes the
   * sequences read next stable and the ids the insert draws visible in id order (the inbox
   * cursor relies on it).
   */
  runBatch<T>(work: (em: TransactionEm) => Promise<T>): Promise<T>;
  /** Each conversation's highest stored `seq` (0 for none). */
  lastSeqs(tx: TransactionEm, conversationIds: readonly number[]): Promise<Map<number, number>>;
  /** The stored messages with any of these keys (idempotent retries). */
  findStored(tx: TransactionEm, keys: readonly IdempotencyKey[]): Promise<MessageDTO[]>;
  /** One multi-row INSERT; the generated ids, in row order. */
  insert(tx: TransactionEm, rows: readonly NewMessageRow[], createdAt: Date): Promise<number[]>;
}
