import type { ConversationDTO, MessageDTO } from './dto.js';

/**
 * Events on `conversation.events`. The stream yields them in batches (several queued events
 * travel in one frame under load); each batch is `tracked()` with the highest message `seq`
 * delivered so far, which is what a reconnecting client sends back as `lastEventId`.
 */
export type ConversationEvent =
  | { type: 'message'; message: MessageDTO }
  /** Another member started or stopped typing (never the subscriber itself). */
  | { type: 'typing'; conversationId: number; userId: number; typing: boolean }
  /** A member's read pointer moved forward. */
  | { type: 'read'; conversationId: number; userId: number; lastReadSeq: number }
  /** Membership changed (joined, left, removed): refresh member lists. */
  | { type: 'members'; conversationId: number; userId: number; change: 'joined' | 'left' | 'removed' };

/**
 * Events on `inbox.events`: what the caller's conversation list needs. Batches are tracked
 * with the highest global message `id` delivered so far.
 */
export type InboxEvent =
  | { type: 'message'; message: MessageDTO; unreadCount: number }
  /** A new conversation for the caller (a direct chat opened with them, a group joined). */
  | { type: 'conversation'; conversation: ConversationDTO }
  /** The caller read in some tab: every tab gets the new pointer and count. */
  | { type: 'read'; conversationId: number; lastReadSeq: number; unreadCount: number }
  /** The caller left or was removed from a conversation. */
  | { type: 'removed'; conversationId: number };

export type ConversationEventType = ConversationEvent['type'];
export type InboxEventType = InboxEvent['type'];
