import type { EntityManager } from '../db/driver.js';
import type { PreparedReads } from '../db/prepared.js';

export type UnreadRow = { conversationId: number; lastReadSeq: number; unreadCount: number };

/**
 * Unread counts of a user's conversations: messages after the read pointer that others sent.
 * `asOfMessageId` is the newest message id the counts include, read in the same statement, so
 * a live stream can tell which later messages still need counting.
 */
export async function unreadCounts(
  /** An entity manager (in a transaction, it reads there), or prepared reads for a stream's start. */
  reader: EntityManager | PreparedReads,
  userId: number,
  conversationIds?: readonly number[],
): Promise<{ rows: UnreadRow[]; asOfMessageId: number }> {
  const execute = <Row>(sql: string, params: unknown[]) =>
    'execute' in reader ? reader.execute<Row[]>(sql, params) : reader.all<Row>(sql, params);
  const filter = conversationIds ? `AND mb.conversation_id IN (${conversationIds.map(() => '?').join(',') || 'NULL'})` : '';
  const rows = await execute<UnreadRow & { asOf: number | null }>(
    `SELECT mb.conversation_id AS "conversationId", mb.last_read_seq AS "lastReadSeq",
       (SELECT count(*) FROM messages m WHERE m.conversation_id = mb.conversation_id
          AND m.seq > mb.last_read_seq AND m.sender_id <> mb.user_id) AS "unreadCount",
       (SELECT max(id) FROM messages) AS "asOf"
     FROM memberships mb WHERE mb.user_id = ? ${filter}`,
    [userId, ...(conversationIds ?? [])],
  );
  let asOfMessageId = 0;
  if (rows.length === 0) {
    const [row] = await execute<{ asOf: number | null }>('SELECT max(id) AS "asOf" FROM messages', []);
    asOfMessageId = row?.asOf ?? 0;
  }
  return {
    rows: rows.map(({ conversationId, lastReadSeq, unreadCount, asOf }) => {
      asOfMessageId = asOf ?? 0;
      return { conversationId, lastReadSeq, unreadCount: Number(unreadCount) };
    }),
    asOfMessageId,
  };
}
