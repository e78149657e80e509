/**
 * React hooks for a host app that mounted the chat router under a key of its own router: they run
 * on the host's tRPC client, WebSocket and QueryClient (no provider of ours).
 *
 * @example
 * const trpc = createTRPCReact<HostRouter>();           // the host's, with `chat: chatRouter` inside
 * const chat = createChatHooks(trpc.chat);
 * const { messages, send, typingLabel, isSeen } = chat.useConversation(conversationId);
 */
import { useRef } from 'react';
import type { NotificationEvent } from '../../shared/notifications.js';
import type { ChatConversation, ChatNotification, ChatProcedures, ChatUser } from './types.js';
import { useChatConversation } from './useConversation.js';

export type { ChatConversation, ChatMessage, ChatNotification, ChatProcedures, ChatUser } from './types.js';

/** Spelled out so the library's .d.ts names no internal type of @trpc/react-query. */
export type ChatHooks = {
  useMe(): { user: ChatUser | null; loading: boolean };
  useConversations(): { conversations: ChatConversation[]; loading: boolean };
  useConversation(conversationId: number, options?: { visible?: boolean; pageSize?: number }): ChatConversationState;
  useNotifications(options?: { onNotification?: (notification: ChatNotification) => void }): {
    notifications: ChatNotification[];
    unreadCount: number;
    markAllRead(): void;
  };
};
export type ChatConversationState = ReturnType<typeof useChatConversation>;

export function createChatHooks(chat: ChatProcedures): ChatHooks {
  return {
    /** The chat's view of the signed-in host user (null when nobody is). */
    useMe() {
      const me = chat.auth.me.useQuery(undefined, { staleTime: Infinity });
      return { user: me.data ?? null, loading: me.isLoading };
    },

    /** The conversation list with last messages and unread counts, refreshed live by the inbox stream. */
    useConversations() {
      const list = chat.conversation.list.useQuery(undefined, { staleTime: 30_000 });
      chat.inbox.events.useSubscription({}, { onData: () => void list.refetch() });
      return { conversations: list.data ?? [], loading: list.isLoading };
    },

    /** History, live messages, typing, "Seen" and sending for one conversation. */
    useConversation: (conversationId: number, options?: { visible?: boolean; pageSize?: number }) => useChatConversation(chat, conversationId, options),

    /** Notifications with the unread count, live; `onNotification` runs for each new one. */
    useNotifications({ onNotification }: { onNotification?: (notification: ChatNotification) => void } = {}) {
      const list = chat.notification.list.useQuery({}, { staleTime: 30_000 });
      const callback = useRef(onNotification);
      callback.current = onNotification;
      chat.notification.stream.useSubscription({}, {
        onData: ({ data }: { data: readonly NotificationEvent[] }) => {
          for (const event of data) if (event.type === 'notification') callback.current?.(event.notification);
          void list.refetch();
        },
      });
      const markAllRead = chat.notification.markRead.useMutation({ onSuccess: () => void list.refetch() });
      return {
        notifications: list.data?.notifications ?? [],
        unreadCount: list.data?.unreadCount ?? 0,
        markAllRead: () => markAllRead.mutate({ all: true }),
      };
    },
  };
}
