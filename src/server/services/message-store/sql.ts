/**
 * The message statements built once from the entity metadata and quoted by the driver's platform
 * (backticks on SQLite, double quotes on PostgreSQL): a renamed column or table changes them with
 * it. `?` placeholders work on both (knex numbers them for PostgreSQL). Both stores look up
 * retries with `findStored` and match RETURNING rows with `appendedInRowOrder`; `lastSeqs` and the
 * multi-row INSERT are the SQLite store's (PostgreSQL appends through `append_messages`).
 */
import type { MessageDTO } from '../../../shared/dto.js';
import { Message } from '../../db/entities.js';
import type { Orm } from '../../db/driver.js';
import type { TransactionEm } from '../../db/transactions.js';
import { toMessageDTO } from '../mappers.js';
import type { Appended, IdempotencyKey, MessageStore, NewMessage, NewMessageRow } from './types.js';

const COLUMNS_PER_ROW = 6;

export type ReturnedRow = { id: number; conversation: number; seq: number };

export type SharedMessageStatements = Pick<MessageStore, 'findStored'> & {
  /** Each conversation's highest stored `seq` (0 for none). */
  lastSeqs(tx: TransactionEm, conversationIds: readonly number[]): Promise<Map<number, number>>;
  /** The multi-row INSERT of `count` numbered rows, returning each row's id, conversation and seq. */
  insertSql(count: number): string;
  insertParams(rows: readonly NewMessageRow[], createdAt: Date): unknown[];
};

export function sharedMessageStatements(orm: Orm): SharedMessageStatements {
  const platform = orm.em.getPlatform();
  const meta = orm.getMetadata().get(Message.meta.className);
  const quote = (name: string) => platform.quoteIdentifier(name);
  const column = (property: keyof typeof meta.properties) => quote(meta.properties[property]!.fieldNames[0]!);
  const table = meta.schema && meta.schema !== '*' ? `${quote(meta.schema)}.${quote(meta.tableName)}` : quote(meta.tableName);
  const [id, conversation, seq, sender, content, clientMessageId, createdAt] = (
    ['id', 'conversation', 'seq', 'sender', 'content', 'clientMessageId', 'createdAt'] as const
  ).map(column);
  // Aliases are quoted too: PostgreSQL folds unquoted ones to lower case.
  const insertHead = `INSERT INTO ${table} (${[conversation, seq, sender, content, clientMessageId, createdAt].join(', ')}) VALUES `;
  const insertTail = ` RETURNING ${id} AS ${quote('id')}, ${conversation} AS ${quote('conversation')}, ${seq} AS ${quote('seq')}`;
  const row = `(${new Array(COLUMNS_PER_ROW).fill('?').join(', ')})`;
  const list = (count: number) => new Array(count).fill('?').join(', ');

  /** The multi-row INSERT for `count` rows, returning each row's id, conversation and seq. */
  const insertSql = (count: number) => insertHead + new Array(count).fill(row).join(', ') + insertTail;
  const insertParams = (rows: readonly NewMessageRow[], at: Date): unknown[] => {
    const stamp = platform.processDateProperty(at);
    const params: unknown[] = new Array(rows.length * COLUMNS_PER_ROW);
    let index = 0;
    for (const message of rows) {
      params[index++] = message.conversationId;
      params[index++] = message.seq;
      params[index++] = message.senderId;
      params[index++] = message.content;
      params[index++] = message.clientMessageId;
      params[index++] = stamp;
    }
    return params;
  };

  return {
    insertSql,
    insertParams,
    async lastSeqs(tx, conversationIds) {
      const rows = await tx.execute<Array<{ conversation: number; lastSeq: number | null }>>(
        `SELECT ${conversation} AS ${quote('conversation')}, max(${seq}) AS ${quote('lastSeq')} FROM ${table}
         WHERE ${conversation} IN (${list(conversationIds.length)}) GROUP BY ${conversation}`,
        [...conversationIds],
      );
      const last = new Map(conversationIds.map((conversationId) => [conversationId, 0]));
      for (const found of rows) last.set(Number(found.conversation), Number(found.lastSeq ?? 0));
      return last;
    },

    async findStored(tx: TransactionEm, keys: readonly IdempotencyKey[]): Promise<MessageDTO[]> {
      // clientMessageId first: the (clientMessageId, sender) unique index answers this.
      const found = await tx.find(Message, { clientMessageId: { $in: [...new Set(keys.map((key) => key.clientMessageId))] } });
      const wanted = new Set(keys.map((key) => `${key.senderId}\u0000${key.clientMessageId}`));
      return found.filter((message) => wanted.has(`${message.sender}\u0000${message.clientMessageId}`)).map(toMessageDTO);
    },
  };
}

/**
 * What RETURNING gave back, in the order of `rows` (it promises no order). The rows of one
 * conversation were numbered consecutively in order, so its k-th row has its k-th lowest seq;
 * (conversation, seq) is unique.
 */
export function appendedInRowOrder(rows: readonly NewMessage[], returned: readonly ReturnedRow[]): Appended[] {
  const byConversation = new Map<number, Appended[]>();
  for (const stored of returned) {
    const conversationId = Number(stored.conversation);
    let list = byConversation.get(conversationId);
    if (!list) byConversation.set(conversationId, (list = []));
    list.push({ id: Number(stored.id), seq: Number(stored.seq) });
  }
  for (const list of byConversation.values()) list.sort((a, b) => a.seq - b.seq);
  const taken = new Map<number, number>();
  return rows.map((message) => {
    const index = taken.get(message.conversationId) ?? 0;
    taken.set(message.conversationId, index + 1);
    const stored = byConversation.get(message.conversationId)?.[index];
    if (stored === undefined) throw new Error(`the insert returned no row for message ${index + 1} of conversation ${message.conversationId}`);
    return stored;
  });
}
