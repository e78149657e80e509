/** The React client: provider, typed hooks, and the pure helpers behind them. */
export { trpc } from './trpc.js';
export type { RouterInputs, RouterOutputs, User, Message, Conversation } from './trpc.js';
export { createRealtimeClient, reconnectDelayMs } from './client.js';
export { RealtimeProvider, useConnectionState, useSession } from './RealtimeProvider.js';
export type { ConnectionStatus } from './logic/connection.js';
export { useConversation } from './hooks/useConversation.js';
export { useConversationEvents } from './hooks/useConversationEvents.js';
export { useSendMessage } from './hooks/useSendMessage.js';
export { useTyping } from './hooks/useTyping.js';
export { useReadReceipts } from './hooks/useReadReceipts.js';
export { usePresence, type PresenceState } from './hooks/usePresence.js';
export { useNotifications } from './hooks/useNotifications.js';
export { useConversationList, useUnreadCounts } from './hooks/useConversationList.js';
export { mergeMessages, withPending, deliveryState, resumeCursor } from './logic/messages.js';
export { createOutbox, classifySendError } from './logic/outbox.js';
export { linkify, plural, dayLabel, timeAgo } from './logic/format.js';
export { typingLabel, createTypingThrottle } from './logic/typing.js';
export { readableError } from './logic/errors.js';
