import { useCallback, useMemo, useSyncExternalStore } from 'react';
import { LIMITS } from '../../shared/limits.js';
import { mergeMessages, resumeCursor, withPending, type MessageItem } from '../logic/messages.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import { trpc, type Message } from '../trpc.js';
import { useConversationEvents } from './useConversationEvents.js';

/**
 * A conversation's messages: history pages (older on demand) merged with live events and your
 * optimistic sends, de-duplicated by id, in `seq` order, resuming after a reconnect without gaps.
 *
 * @example
 * const { items, fetchOlder, hasOlder } = useConversation(conversationId);
 * items.map((item) => item.kind === 'stored' ? item.message.content : item.pending.content);
 */
export function useConversation(conversationId: number, { pageSize = LIMITS.historyPageDefault } = {}) {
  const { store } = useRealtimeContext();
  const utils = trpc.useUtils();
  const history = trpc.conversation.history.useInfiniteQuery(
    { conversationId, limit: pageSize },
    { getNextPageParam: (page) => page.nextCursor ?? undefined, staleTime: Infinity },
  );

  const subscribe = useCallback((listener: () => void) => store.subscribe(listener), [store]);
  const snapshot = useSyncExternalStore(subscribe, () => store.get(conversationId));

  const ready = history.data !== undefined;
  const messages = useMemo(
    () => mergeMessages(...(history.data?.pages.map((page) => page.messages) ?? []), snapshot.live),
    [history.data, snapshot.live],
  );
  // The resume cursor: the newest seq this view holds without a gap (history and live), never
  // null once the history is loaded, so a (re)attached stream replays exactly what is missing.
  const resumeSeq = ready ? String(resumeCursor(messages) ?? 0) : null;

  useConversationEvents(
    conversationId,
    (events) => {
      const messages: Message[] = [];
      for (const event of events) {
        if (event.type === 'message') messages.push(event.message);
        if (event.type === 'members') void utils.conversation.list.invalidate();
      }
      store.addMessages(conversationId, messages);
    },
    { lastEventId: resumeSeq, enabled: ready },
  );

  const items: MessageItem<Message>[] = useMemo(() => withPending(messages, snapshot.pending), [messages, snapshot.pending]);

  return {
    /** Stored messages, oldest first. */
    messages,
    /** Stored messages plus optimistic ones (pending or failed), as a chat window lists them. */
    items,
    status: history.status,
    error: history.error,
    hasOlder: history.hasNextPage,
    isLoadingOlder: history.isFetchingNextPage,
    fetchOlder: () => (history.hasNextPage && !history.isFetchingNextPage ? history.fetchNextPage() : undefined),
  };
}
