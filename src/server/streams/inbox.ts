import { tracked } from '@trpc/server';
import type { InboxEvent } from '../../shared/events.js';
import { topics, type InboxBusEvent } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { Membership, Message } from '../db/entities.js';
import { toMessageDTO } from '../services/mappers.js';
import { unreadCounts } from '../services/read-state.js';
import { linkedAbort } from './abort.js';

const REPLAY_PAGE = 500;

type Options = { userId: number; lastEventId: string | null | undefined; signal: AbortSignal | undefined };

/**
 * `inbox.events`: new messages in all of the caller's conversations, each with the caller's
 * unread count for that conversation. Batches are tracked with the highest global message id.
 * Listening starts before this resolves.
 */
export async function openInboxStream({ bus, orm }: AppDeps, { userId, lastEventId, signal }: Options) {
  const stop = linkedAbort(signal);
  // Listen first, then count and replay: the id checks below drop anything seen twice.
  const live = bus.subscribe(topics.inbox(userId), { signal: stop.signal });
  let counts: Awaited<ReturnType<typeof unreadCounts>>;
  try {
    counts = await unreadCounts(orm.em.fork(), userId);
  } catch (error) {
    stop.abort();
    throw error;
  }
  // Per conversation: unread count, and the newest message id that count already includes.
  const unread = new Map(counts.rows.map((row) => [row.conversationId, { count: row.unreadCount, asOf: counts.asOfMessageId }]));
  let cursor = lastEventId != null ? Number(lastEventId) : counts.asOfMessageId;

  const toInboxEvent = (event: InboxBusEvent): InboxEvent => {
    switch (event.type) {
      case 'message': {
        const { message } = event;
        let state = unread.get(message.conversationId);
        if (!state) unread.set(message.conversationId, (state = { count: 0, asOf: 0 }));
        if (message.id > state.asOf) {
          if (message.senderId !== userId) state.count += 1;
          state.asOf = message.id;
        }
        return { type: 'message', message, unreadCount: state.count };
      }
      case 'read': {
        // An absolute count as of `asOfMessageId`: later messages are still counted on arrival.
        const { conversationId, lastReadSeq, unreadCount, asOfMessageId } = event;
        const state = unread.get(conversationId);
        if (!state || asOfMessageId >= state.asOf) unread.set(conversationId, { count: unreadCount, asOf: asOfMessageId });
        return { type: 'read', conversationId, lastReadSeq, unreadCount: unread.get(conversationId)!.count };
      }
      case 'conversation':
        unread.set(event.conversation.id, { count: event.conversation.unreadCount, asOf: event.conversation.lastMessage?.id ?? 0 });
        return event;
      case 'removed':
        unread.delete(event.conversationId);
        return event;
    }
  };

  async function* replay() {
    while (true) {
      const em = orm.em.fork();
      const memberOf = (await em.find(Membership, { user: userId }, { fields: ['conversation'] })).map((m) => m.conversation);
      const messages = await em.find(
        Message,
        { id: { $gt: cursor }, conversation: { $in: memberOf } },
        { orderBy: { id: 'asc' }, limit: REPLAY_PAGE },
      );
      if (messages.length === 0) return;
      cursor = messages.at(-1)!.id;
      yield messages.map((row) => toInboxEvent({ type: 'message', message: toMessageDTO(row) }));
      if (messages.length < REPLAY_PAGE) return;
    }
  }

  return (async function* () {
    try {
      if (lastEventId != null) for await (const events of replay()) yield tracked(String(cursor), events);
      for await (const batch of live) {
        if (live.takeOverflow()) for await (const events of replay()) yield tracked(String(cursor), events);
        const out: InboxEvent[] = [];
        for (const event of batch) {
          if (event.type === 'message') {
            if (event.message.id <= cursor) continue;
            cursor = event.message.id;
          }
          out.push(toInboxEvent(event));
        }
        if (out.length > 0) yield tracked(String(cursor), out);
      }
    } finally {
      stop.abort();
    }
  })();
}
