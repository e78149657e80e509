import { useEffect, useMemo } from 'react';
import type { InboxEvent } from '../../shared/events.js';
import { isRetryable, isUnauthorized } from '../logic/errors.js';
import { keepSubscribed } from '../logic/keep-subscribed.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import { trpc, type Conversation } from '../trpc.js';

/** Applies inbox events to the conversation list (pure; exported for tests). */
export function applyInboxEvents(list: readonly Conversation[], events: readonly InboxEvent[]): Conversation[] {
  let next = [...list];
  for (const event of events) {
    switch (event.type) {
      case 'message': {
        const index = next.findIndex((item) => item.id === event.message.conversationId);
        const current = next[index];
        if (!current) break;
        const newer = !current.lastMessage || current.lastMessage.seq < event.message.seq;
        const updated = { ...current, unreadCount: event.unreadCount, lastMessage: newer ? event.message : current.lastMessage };
        next.splice(index, 1);
        next.unshift(updated);
        break;
      }
      case 'conversation':
        next = [event.conversation, ...next.filter((item) => item.id !== event.conversation.id)];
        break;
      case 'read':
        next = next.map((item) =>
          item.id === event.conversationId ? { ...item, lastReadSeq: event.lastReadSeq, unreadCount: event.unreadCount } : item,
        );
        break;
      case 'removed':
        next = next.filter((item) => item.id !== event.conversationId);
        break;
    }
  }
  return next;
}

/**
 * The caller's conversations, kept live by `inbox.events`: last message, unread count, new
 * conversations, removals. Mount it once (e.g. in the sidebar); other hooks read the same cache.
 *
 * @example
 * const { conversations } = useConversationList();
 */
export function useConversationList() {
  const { realtime, sessionExpired } = useRealtimeContext();
  const utils = trpc.useUtils();
  const list = trpc.conversation.list.useQuery(undefined, { staleTime: 30_000 });
  const ready = list.data !== undefined;

  useEffect(() => {
    if (!ready) return;
    const snapshot = utils.conversation.list.getData() ?? [];
    const newestId = Math.max(0, ...snapshot.map((item) => item.lastMessage?.id ?? 0));
    return keepSubscribed<InboxEvent[]>(
      (lastEventId, handlers) => {
        const subscription = realtime.trpcClient.inbox.events.subscribe(
          { lastEventId },
          { onData: ({ id, data }) => handlers.onData(id, data), onError: handlers.onError },
        );
        return () => subscription.unsubscribe();
      },
      (data) => {
        if (data.some((event) => event.type === 'conversation' && !utils.conversation.list.getData())) {
          void utils.conversation.list.invalidate();
        }
        utils.conversation.list.setData(undefined, (current) => (current ? applyInboxEvents(current, data) : current));
      },
      { lastEventId: String(newestId), shouldRetry: isRetryable, onError: (error) => isUnauthorized(error) && sessionExpired(), onReopen: () => void utils.conversation.list.invalidate() },
    );
  }, [realtime, utils, ready, sessionExpired]);

  return { conversations: list.data ?? [], status: list.status, error: list.error, refetch: list.refetch };
}

/**
 * Unread message counts per conversation and in total, live.
 *
 * @example
 * const { total, of } = useUnreadCounts();
 * document.title = total ? `(${total}) Chat` : 'Chat';
 */
export function useUnreadCounts() {
  const { conversations } = useConversationList();
  return useMemo(() => {
    const byConversation = new Map(conversations.map((item) => [item.id, item.unreadCount]));
    let total = 0;
    for (const count of byConversation.values()) total += count;
    return { byConversation, total, of: (conversationId: number) => byConversation.get(conversationId) ?? 0 };
  }, [conversations]);
}
