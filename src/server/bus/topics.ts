import type { ConversationDTO, MessageDTO } from '../../shared/dto.js';
import type { ConversationEvent } from '../../shared/events.js';
import type { NotificationEvent } from '../../shared/notifications.js';
import type { PresenceDTO } from '../../shared/social.js';
import type { Topic } from './types.js';

/**
 * What travels on a user's inbox topic. The inbox stream adds each subscriber's own unread
 * count to messages before yielding (see streams/inbox.ts), so one published event serves
 * every tab. `asOfMessageId` says which messages an absolute count already includes.
 */
export type InboxBusEvent =
  | { type: 'message'; message: MessageDTO }
  | { type: 'conversation'; conversation: ConversationDTO }
  | { type: 'read'; conversationId: number; lastReadSeq: number; unreadCount: number; asOfMessageId: number }
  | { type: 'removed'; conversationId: number };

/** Every topic the server publishes on, typed by the events it carries. */
export const topics = {
  conversation: (conversationId: number): Topic<ConversationEvent> => ({ key: `conversation:${conversationId}` }),
  /** Every conversation topic at once (a pattern): what the local inbox fan-out listens to. */
  allConversations: { key: 'conversation:*' } as Topic<ConversationEvent>,
  inbox: (userId: number): Topic<InboxBusEvent> => ({ key: `inbox:${userId}` }),
  presence: (userId: number): Topic<PresenceDTO> => ({ key: `presence:${userId}` }),
  notifications: (userId: number): Topic<NotificationEvent> => ({ key: `notifications:${userId}` }),
};
