import type { ConversationDTO, MessageDTO } from './dto.js';

/**
 * Events on `conversation.events`. The stream yields them in batches (several queued events
 * travel in one frame under load); each batch is `tracked()` with the highest message `seq`
 * delivered so far, which is what a reconnecting client sends back as `lastEventId`.
 */
export type ConversationEvent = { type: 'message'; message: MessageDTO };

/**
 * Events on `inbox.events`: what the caller's conversation list needs. Batches are tracked
 * with the highest global message `id` delivered so far.
 */
export type InboxEvent =
  | { type: 'message'; message: MessageDTO; unreadCount: number }
  | { type: 'conversation'; conversation: ConversationDTO };

export type ConversationEventType = ConversationEvent['type'];
export type InboxEventType = InboxEvent['type'];
