import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { InboxEvent } from '../../shared/events.js';
import { topics, type InboxBusEvent } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { Membership, Message } from '../db/entities.js';
import { preparedReadsOf } from '../db/prepared.js';
import { MESSAGE_ROW_COLUMNS, messageRowToDTO, toMessageDTO, type MessageRow } from '../services/mappers.js';
import { unreadCounts } from '../services/read-state.js';
import { LiveStream, type StreamOutput } from './live-stream.js';
import { CursorStream, LATE_WINDOW_MS, listenThenRead, pagesAfter, type BelowCursor } from './replay.js';

const REPLAY_PAGE = 500;
// Current memberships only: a conversation the user left replays nothing. A prepared read: every
// resumed inbox (the web app always resumes it, from its list's newest message) starts with it.
// Within a conversation ids and sequences grow together (one writer on SQLite, the commit-order
// lock on PostgreSQL), so its messages after the cursor are those numbered after its last one at
// or below the cursor, which the (conversation, seq) index finds from the newest end: a resume
// reads what is new, not each conversation's whole history (`m.id > ?` alone did: BENCHMARKS.md,
// "Eleventh round"). From 0 (everything) that lookup is skipped. Params: cursor, cursor, user.
export const INBOX_PAGE_AFTER = `SELECT ${MESSAGE_ROW_COLUMNS} FROM memberships mb
  JOIN messages m ON m.conversation_id = mb.conversation_id
   AND m.seq > CASE WHEN ? = 0 THEN 0 ELSE coalesce((SELECT p.seq FROM messages p
     WHERE p.conversation_id = mb.conversation_id AND p.id <= ? ORDER BY p.seq DESC LIMIT 1), 0) END
  WHERE mb.user_id = ?
  ORDER BY m.id LIMIT ${REPLAY_PAGE}`;

type Options = {
  userId: number;
  lastEventId: string | null | undefined;
  signal: AbortSignal | undefined;
};

/**
 * `inbox.events`: new messages in all of the caller's conversations, each with the caller's
 * unread count for that conversation. Batches are tracked with the highest global message id.
 * Listening starts before this resolves.
 */
export async function openInboxStream({ bus, orm, clock }: AppDeps, { userId, lastEventId, signal }: Options) {
  // Listen first, then count and replay: the id checks below drop anything seen twice.
  const { live, value: counts } = await listenThenRead(bus, topics.inbox(userId), signal, () => unreadCounts(preparedReadsOf(orm), userId));
  const unread = new Map<number, UnreadState>(counts.rows.map((row) => [row.conversationId, freshState(row.unreadCount, counts.asOfMessageId)]));
  const cursor = lastEventId != null ? Number(lastEventId) : counts.asOfMessageId;
  const lateWindowMs = bus.mayReorder ? LATE_WINDOW_MS : 0;
  return new LiveStream(live, new InboxStreamLogic(orm, clock, userId, unread, cursor, lastEventId != null, lateWindowMs));
}

/**
 * Per conversation: the unread count; `basis`, the message id up to which an absolute count
 * (the stream's start, a read, a conversation event) included every message; and the others'
 * messages counted since, by id (an absolute count computed before they committed must add them
 * back, and a message counted once is not counted again), with the newest of them. A message
 * above the basis is counted on arrival, whatever order it arrives in: on a bus that may reorder
 * (several instances), a message can arrive after a newer one (issue 14; was missed before).
 */
type UnreadState = { count: number; basis: number; counted: number[]; newest: number };

/** How many counted ids a conversation's state remembers beyond its basis. */
const COUNTED_MAX = 1000;

type Out = TrackedEnvelope<InboxEvent[]>;

/** What one open inbox stream keeps between events, and what it does with them. */
class InboxStreamLogic extends CursorStream<InboxBusEvent, InboxEvent> {
  constructor(
    private readonly orm: AppDeps['orm'],
    private readonly clock: AppDeps['clock'],
    readonly userId: number,
    readonly unread: Map<number, UnreadState>,
    cursor: number,
    replayFirst: boolean,
    lateWindowMs: number,
  ) {
    super(cursor, replayFirst, lateWindowMs);
  }

  protected async readBelowCursor(from: BelowCursor): Promise<Array<[number, InboxEvent]>> {
    const em = this.orm.em.fork();
    const memberOf = (await em.find(Membership, { user: this.userId }, { fields: ['conversation'] })).map((m) => m.conversation);
    const lower = 'after' in from ? { id: { $gt: from.after, $lte: this.cursor } } : { id: { $lte: this.cursor }, createdAt: { $gte: new Date(this.clock.now() - from.withinMs) } };
    const rows = await em.find(Message, { ...lower, conversation: { $in: memberOf } }, { orderBy: { id: 'asc' }, limit: REPLAY_PAGE });
    return rows.map((row) => [row.id, toInboxEvent(this, { type: 'message', message: toMessageDTO(row) })]);
  }

  protected positionOf(event: InboxBusEvent): number | null {
    return event.type === 'message' ? event.message.id : null;
  }

  protected toItem(event: InboxBusEvent): InboxEvent {
    return toInboxEvent(this, event);
  }

  /** Stored messages of the user's current conversations after the cursor, page by page. */
  protected async replayInto(out: StreamOutput<Out>) {
    const { userId } = this;
    const reads = preparedReadsOf(this.orm);
    const pages = pagesAfter(this.cursor, REPLAY_PAGE, (after) => reads.all<MessageRow>(INBOX_PAGE_AFTER, [after, after, userId]), (row) => Number(row.id));
    for await (const page of pages) {
      this.cursor = page.cursor;
      out.emit(tracked(String(this.cursor), page.rows.map((row) => toInboxEvent(this, { type: 'message', message: messageRowToDTO(row) }))));
    }
  }
}

const freshState = (count: number, basis: number): UnreadState => ({ count, basis, counted: [], newest: basis });

function toInboxEvent({ unread, userId }: { unread: Map<number, UnreadState>; userId: number }, event: InboxBusEvent): InboxEvent {
  switch (event.type) {
    case 'message': {
      const { message } = event;
      let state = unread.get(message.conversationId);
      if (!state) unread.set(message.conversationId, (state = freshState(0, 0)));
      // In order, a message is newer than every one counted; a late one is looked up.
      const fresh = message.id > state.newest || (message.id > state.basis && !state.counted.includes(message.id));
      if (fresh && message.senderId !== userId) {
        state.count += 1;
        state.counted.push(message.id);
        state.newest = Math.max(state.newest, message.id);
        if (state.counted.length > COUNTED_MAX) state.basis = Math.max(state.basis, state.counted.shift()!);
      }
      return { type: 'message', message, unreadCount: state.count };
    }
    case 'read': {
      // An absolute count as of `asOfMessageId`: later messages are still counted on arrival.
      const { conversationId, lastReadSeq, unreadCount, asOfMessageId } = event;
      const previous = unread.get(conversationId);
      const counted = (previous?.counted ?? []).filter((id) => id > asOfMessageId);
      const basis = Math.max(previous?.basis ?? 0, asOfMessageId);
      const state = { count: unreadCount + counted.length, basis, counted, newest: Math.max(previous?.newest ?? 0, basis) };
      unread.set(conversationId, state);
      return { type: 'read', conversationId, lastReadSeq, unreadCount: state.count };
    }
    case 'conversation':
      unread.set(event.conversation.id, freshState(event.conversation.unreadCount, event.conversation.lastMessage?.id ?? 0));
      return event;
    case 'removed':
      unread.delete(event.conversationId);
      return event;
  }
}
