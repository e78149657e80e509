import type { ReadResultDTO } from '../../shared/social.js';
import { topics } from '../bus/topics.js';
import { Membership, Message } from '../db/entities.js';
import type { Deps } from './deps.js';
import { notFound } from './errors.js';
import type { MembershipService } from './membership.js';
import { unreadCounts } from './read-state.js';

export type ReadHooks = {
  /** After the caller's pointer moved (e.g. to clear their "new message" notification). */
  afterRead?: (userId: number, conversationId: number, lastReadSeq: number) => Promise<void> | void;
};

export function createReadService({ orm, bus }: Deps, membership: MembershipService, hooks: ReadHooks = {}) {
  return {
    /**
     * Moves the caller's read pointer forward to this message (reading a message implies reading
     * everything before it); never backwards. Publishes only when the pointer moved.
     */
    async markRead(userId: number, messageId: number): Promise<ReadResultDTO> {
      const em = orm.em.fork();
      const message = await em.findOne(Message, { id: messageId }, { fields: ['conversation', 'seq'] });
      // A message of someone else's conversation is as missing as one that never existed.
      if (!message || !(await membership.isMember(message.conversation, userId))) throw notFound('Message');
      const conversationId = message.conversation;
      const moved = await em.nativeUpdate(
        Membership,
        { conversation: conversationId, user: userId, lastReadSeq: { $lt: message.seq } },
        { lastReadSeq: message.seq },
      );
      const { rows, asOfMessageId } = await unreadCounts(em, userId, [conversationId]);
      const state = rows[0] ?? { lastReadSeq: message.seq, unreadCount: 0 };
      const result = { conversationId, lastReadSeq: state.lastReadSeq, unreadCount: state.unreadCount };
      if (moved > 0) {
        await bus.publish(topics.conversation(conversationId), { type: 'read', conversationId, userId, lastReadSeq: result.lastReadSeq });
        await bus.publish(topics.inbox(userId), { type: 'read', ...result, asOfMessageId });
        await hooks.afterRead?.(userId, conversationId, result.lastReadSeq);
      }
      return result;
    },
  };
}

export type ReadService = ReturnType<typeof createReadService>;
