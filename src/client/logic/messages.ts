/** Pure message-list logic: merging history, live events and optimistic sends. */

/** The fields merging needs; `MessageDTO` satisfies it. */
export type SequencedMessage = { id: number; seq: number; clientMessageId: string; senderId: number };

/** Merges any number of lists into one, ordered by `seq`, each message once (by `id`). */
export function mergeMessages<M extends SequencedMessage>(...lists: ReadonlyArray<readonly M[]>): M[] {
  const byId = new Map<number, M>();
  for (const list of lists) for (const message of list) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

export type PendingStatus = 'pending' | 'failed';

/** An optimistic message: shown at once, replaced by the stored one when it arrives. */
export type PendingMessage = {
  clientMessageId: string;
  conversationId: number;
  senderId: number;
  content: string;
  createdAt: string;
  status: PendingStatus;
  error: string | null;
};

export type MessageItem<M extends SequencedMessage> =
  | { kind: 'stored'; key: string; message: M }
  | { kind: 'pending'; key: string; pending: PendingMessage };

/**
 * The list a chat window shows: stored messages in order, then optimistic ones that the server
 * has not confirmed yet. A pending message whose `clientMessageId` already arrived is dropped,
 * so a send that was retried, or echoed by the stream before the mutation returned, shows once.
 */
export function withPending<M extends SequencedMessage>(
  stored: readonly M[],
  pending: readonly PendingMessage[],
): MessageItem<M>[] {
  const confirmed = new Set(stored.map((message) => `${message.senderId}:${message.clientMessageId}`));
  const items: MessageItem<M>[] = stored.map((message) => ({ kind: 'stored', key: `m${message.id}`, message }));
  for (const item of pending) {
    if (confirmed.has(`${item.senderId}:${item.clientMessageId}`)) continue;
    items.push({ kind: 'pending', key: `p${item.clientMessageId}`, pending: item });
  }
  return items;
}

/** The highest `seq` in a list, as the `lastEventId` a stream resumes after; null when empty. */
export function newestSeq(messages: readonly SequencedMessage[]): number | null {
  let newest: number | null = null;
  for (const message of messages) if (newest === null || message.seq > newest) newest = message.seq;
  return newest;
}

export type DeliveryState = 'pending' | 'failed' | 'sent' | 'seen';

/** "Seen" once any other member's read pointer reached the message. */
export function deliveryState(
  message: { seq: number; senderId: number },
  members: ReadonlyArray<{ id: number; lastReadSeq: number }>,
): DeliveryState {
  return members.some((member) => member.id !== message.senderId && member.lastReadSeq >= message.seq) ? 'seen' : 'sent';
}

/**
 * Where a conversation's stream resumes: the newest seq up to which the held messages have no
 * gap (seqs are dense per conversation). Your own message that came back from a send while the
 * stream was down does not move it past others' messages the stream has not delivered yet.
 * `messages` must be in seq order (as `mergeMessages` returns them); null when nothing is held.
 */
export function resumeCursor(messages: readonly SequencedMessage[]): number | null {
  const first = messages[0];
  if (!first) return null;
  let cursor = first.seq;
  for (const message of messages) {
    if (message.seq > cursor + 1) break;
    cursor = Math.max(cursor, message.seq);
  }
  return cursor;
}
