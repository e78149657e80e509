import { useCallback, useEffect, useRef } from 'react';
import { deliveryState, type DeliveryState } from '../logic/messages.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import { trpc, type Conversation, type Message } from '../trpc.js';
import { useConversationEvents } from './useConversationEvents.js';

function withMemberRead(list: Conversation[] | undefined, conversationId: number, userId: number, lastReadSeq: number) {
  return list?.map((conversation) =>
    conversation.id !== conversationId
      ? conversation
      : {
          ...conversation,
          members: conversation.members.map((member) =>
            member.id === userId ? { ...member, lastReadSeq: Math.max(member.lastReadSeq, lastReadSeq) } : member,
          ),
        },
  );
}

/**
 * Read receipts: marks the newest message from others as read while `visible` is true, and tells
 * for your messages whether they were seen.
 *
 * @example
 * const receipts = useReadReceipts(conversationId, messages, { visible: isAtBottom });
 * receipts.stateOf(message); // 'sent' | 'seen'
 */
export function useReadReceipts(conversationId: number, messages: readonly Message[], { visible = true } = {}) {
  const { realtime, session } = useRealtimeContext();
  const me = session.user?.id ?? 0;
  const utils = trpc.useUtils();
  const conversations = trpc.conversation.list.useQuery(undefined, { staleTime: 30_000 });
  const conversation = conversations.data?.find((item) => item.id === conversationId);
  const members = conversation?.members ?? [];
  const markedUpTo = useRef(0);

  useConversationEvents(conversationId, (events) => {
    for (const event of events) {
      if (event.type !== 'read') continue;
      utils.conversation.list.setData(undefined, (list) => withMemberRead(list, conversationId, event.userId, event.lastReadSeq));
    }
  });

  const myReadSeq = Math.max(conversation?.lastReadSeq ?? 0, markedUpTo.current);
  const newestFromOthers = [...messages].reverse().find((message) => message.senderId !== me);
  const shouldMark = visible && newestFromOthers !== undefined && newestFromOthers.seq > myReadSeq;

  const markRead = useCallback(
    async (message: Message) => {
      if (message.seq <= markedUpTo.current) return;
      markedUpTo.current = message.seq;
      try {
        const result = await realtime.trpcClient.message.read.mutate({ messageId: message.id });
        utils.conversation.list.setData(undefined, (list) =>
          withMemberRead(list, conversationId, me, result.lastReadSeq)?.map((item) =>
            item.id === conversationId ? { ...item, lastReadSeq: result.lastReadSeq, unreadCount: result.unreadCount } : item,
          ),
        );
      } catch {
        markedUpTo.current = 0; // try again on the next render
      }
    },
    [realtime, utils, conversationId, me],
  );

  useEffect(() => {
    if (!shouldMark || !newestFromOthers) return;
    // Only while the page is on screen: a background tab has not "seen" anything.
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    void markRead(newestFromOthers);
  }, [shouldMark, newestFromOthers, markRead]);

  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible' && shouldMark && newestFromOthers) void markRead(newestFromOthers);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [shouldMark, newestFromOthers, markRead]);

  const stateOf = useCallback((message: Message): DeliveryState => deliveryState(message, members), [members]);
  const seenBy = useCallback(
    (message: Message) => members.filter((member) => member.id !== message.senderId && member.lastReadSeq >= message.seq),
    [members],
  );
  return { stateOf, seenBy, markRead, members };
}
