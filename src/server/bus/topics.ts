import type { ConversationDTO } from '../../shared/dto.js';
import type { ConversationEvent } from '../../shared/events.js';
import type { MessageDTO } from '../../shared/dto.js';
import type { Topic } from './types.js';

/**
 * What travels on a user's inbox topic. The inbox stream adds each subscriber's own unread
 * count before yielding (see streams/inbox.ts), so one published event serves every tab.
 */
export type InboxBusEvent =
  | { type: 'message'; message: MessageDTO }
  | { type: 'conversation'; conversation: ConversationDTO };

/** Every topic the server publishes on, typed by the events it carries. */
export const topics = {
  conversation: (conversationId: number): Topic<ConversationEvent> => ({ key: `conversation:${conversationId}` }),
  inbox: (userId: number): Topic<InboxBusEvent> => ({ key: `inbox:${userId}` }),
};
