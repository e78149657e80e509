import { tracked } from '@trpc/server';
import type { InboxEvent } from '../../shared/events.js';
import { topics, type InboxBusEvent } from '../bus/topics.js';
import type { BusSubscription } from '../bus/types.js';
import type { AppDeps } from '../context.js';
import { Membership, Message } from '../db/entities.js';
import { toMessageDTO } from '../services/mappers.js';
import { unreadCounts } from '../services/read-state.js';
import { listenThenRead, LiveStream, pagesAfter } from './replay.js';

const REPLAY_PAGE = 500;

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
export async function openInboxStream({ bus, orm }: AppDeps, { userId, lastEventId, signal }: Options) {
  // Listen first, then count and replay: the id checks below drop anything seen twice.
  const { live, value: counts } = await listenThenRead(bus, topics.inbox(userId), signal, () => unreadCounts(orm.em.fork(), userId));
  const state: InboxState = {
    orm,
    userId,
    live,
    unread: new Map(counts.rows.map((row) => [row.conversationId, { count: row.unreadCount, asOf: counts.asOfMessageId, counted: [] }])),
    cursor: lastEventId != null ? Number(lastEventId) : counts.asOfMessageId,
    replayFirst: lastEventId != null,
  };
  return new LiveStream(inboxEvents(state), live);
}

/**
 * Per conversation: unread count, the newest message id it already includes, and the ids
 * counted since (an absolute count computed before they committed must add them back).
 */
type UnreadState = { count: number; asOf: number; counted: number[] };

/** What one open stream holds between events (the generators below are module-level). */
type InboxState = {
  orm: AppDeps['orm'];
  userId: number;
  live: BusSubscription<InboxBusEvent>;
  unread: Map<number, UnreadState>;
  /** Highest message id delivered. */
  cursor: number;
  replayFirst: boolean;
};

async function* inboxEvents(state: InboxState) {
  const { live } = state;
  try {
    if (state.replayFirst) for await (const events of replay(state)) yield tracked(String(state.cursor), events);
    for await (const batch of live) {
      if (live.takeOverflow()) for await (const events of replay(state)) yield tracked(String(state.cursor), events);
      const out: InboxEvent[] = [];
      for (const event of batch) {
        if (event.type === 'message') {
          if (event.message.id <= state.cursor) continue;
          state.cursor = event.message.id;
        }
        out.push(toInboxEvent(state, event));
      }
      if (out.length > 0) yield tracked(String(state.cursor), out);
    }
  } finally {
    live.close();
  }
}

function toInboxEvent({ unread, userId }: InboxState, event: InboxBusEvent): InboxEvent {
  switch (event.type) {
    case 'message': {
      const { message } = event;
      let state = unread.get(message.conversationId);
      if (!state) unread.set(message.conversationId, (state = { count: 0, asOf: 0, counted: [] }));
      if (message.id > state.asOf) {
        state.asOf = message.id;
        if (message.senderId !== userId) {
          state.count += 1;
          state.counted.push(message.id);
          if (state.counted.length > 1000) state.counted.shift();
        }
      }
      return { type: 'message', message, unreadCount: state.count };
    }
    case 'read': {
      // An absolute count as of `asOfMessageId`: later messages are still counted on arrival.
      const { conversationId, lastReadSeq, unreadCount, asOfMessageId } = event;
      const previous = unread.get(conversationId);
      const counted = (previous?.counted ?? []).filter((id) => id > asOfMessageId);
      const state = { count: unreadCount + counted.length, asOf: Math.max(previous?.asOf ?? 0, asOfMessageId), counted };
      unread.set(conversationId, state);
      return { type: 'read', conversationId, lastReadSeq, unreadCount: state.count };
    }
    case 'conversation':
      unread.set(event.conversation.id, { count: event.conversation.unreadCount, asOf: event.conversation.lastMessage?.id ?? 0, counted: [] });
      return event;
    case 'removed':
      unread.delete(event.conversationId);
      return event;
  }
}

/** Stored messages of the user's current conversations after the cursor, page by page. */
async function* replay(state: InboxState) {
  const { orm, userId } = state;
  const pages = pagesAfter(
    state.cursor,
    REPLAY_PAGE,
    async (after) => {
      // Current memberships only: a conversation the user left replays nothing.
      const em = orm.em.fork();
      const memberOf = (await em.find(Membership, { user: userId }, { fields: ['conversation'] })).map((m) => m.conversation);
      return em.find(Message, { id: { $gt: after }, conversation: { $in: memberOf } }, { orderBy: { id: 'asc' }, limit: REPLAY_PAGE });
    },
    (row) => row.id,
  );
  for await (const page of pages) {
    state.cursor = page.cursor;
    yield page.rows.map((row) => toInboxEvent(state, { type: 'message', message: toMessageDTO(row) }));
  }
}
