import type { EntityManager } from '../db/driver.js';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { ConversationDTO, HistoryPageDTO } from '../../shared/dto.js';
import { topics } from '../bus/topics.js';
import { Conversation, Group, Membership, Message, User, type MembershipEntity } from '../db/entities.js';
import { inTransaction } from '../db/transactions.js';
import type { BlockService } from './blocks.js';
import type { Deps } from './deps.js';
import { badRequest, notFound } from './errors.js';
import { toMessageDTO, toUserDTO } from './mappers.js';
import type { MembershipService } from './membership.js';
import { unreadCounts } from './read-state.js';

/** Builds the caller's view of some conversations in a fixed number of queries, whatever their count. */
export async function conversationDTOs(
  em: EntityManager,
  userId: number,
  conversationIds: readonly number[],
): Promise<ConversationDTO[]> {
  if (conversationIds.length === 0) return [];
  const ids = [...conversationIds];
  const [conversations, memberships, groups, lastMessages, unread] = await Promise.all([
    em.find(Conversation, { id: { $in: ids } }),
    em.find(Membership, { conversation: { $in: ids } }, { orderBy: { id: 'asc' } }),
    em.find(Group, { conversation: { $in: ids } }),
    lastMessagesOf(em, ids),
    unreadCounts(em, userId, ids),
  ]);
  const users = await em.find(User, { id: { $in: [...new Set(memberships.map((m) => m.user))] } });
  const usersById = new Map(users.map((user) => [user.id, user]));
  const groupByConversation = new Map(groups.map((group) => [group.conversation, group]));
  const lastByConversation = new Map(lastMessages.map((message) => [message.conversation, message]));
  const unreadByConversation = new Map(unread.rows.map((row) => [row.conversationId, row]));

  return conversations
    .map((conversation): ConversationDTO => {
      const members = memberships
        .filter((membership) => membership.conversation === conversation.id)
        .flatMap((membership) => {
          const user = usersById.get(membership.user);
          return user ? [{ ...toUserDTO(user), lastReadSeq: membership.lastReadSeq }] : [];
        });
      const group = groupByConversation.get(conversation.id);
      const last = lastByConversation.get(conversation.id);
      const readState = unreadByConversation.get(conversation.id);
      return {
        id: conversation.id,
        kind: conversation.kind,
        groupId: group?.id ?? null,
        title: group?.name ?? members.find((member) => member.id !== userId)?.username ?? 'Just you',
        members,
        lastMessage: last ? toMessageDTO(last) : null,
        unreadCount: readState?.unreadCount ?? 0,
        lastReadSeq: readState?.lastReadSeq ?? 0,
      };
    })
    .sort((a, b) => (b.lastMessage?.id ?? 0) - (a.lastMessage?.id ?? 0) || b.id - a.id);
}

async function lastMessagesOf(em: EntityManager, conversationIds: number[]) {
  const rows = await em.execute<Array<{ id: number }>>(
    `SELECT max(id) AS id FROM messages WHERE conversation_id IN (${conversationIds.map(() => '?').join(',')}) GROUP BY conversation_id`,
    conversationIds,
  );
  return rows.length ? em.find(Message, { id: { $in: rows.map((row) => Number(row.id)) } }) : [];
}

export function createConversationService({ orm, bus, clock }: Deps, membership: MembershipService, blocks: BlockService) {
  return {
    /** One conversation per pair of users: a second call (from either side) returns the same one. */
    async openDirect(userId: number, otherUserId: number): Promise<ConversationDTO> {
      if (otherUserId === userId) throw badRequest('A direct conversation needs another user');
      const em = orm.em.fork();
      // To a user they blocked, the blocker is an account that does not exist.
      if (!(await em.count(User, { id: otherUserId })) || (await blocks.hasBlocked(otherUserId, userId))) throw notFound('User');
      const directKey = [userId, otherUserId].sort((a, b) => a - b).join(':');
      let conversationId = (await em.findOne(Conversation, { directKey }))?.id;
      let created = false;
      if (conversationId === undefined) {
        try {
          conversationId = await inTransaction(orm, async (tx) => {
            const now = new Date(clock.now());
            const freshId = Number(await tx.insert(Conversation, { kind: 'direct', directKey, createdAt: now }));
            await tx.insertMany<MembershipEntity>(
              Membership,
              [userId, otherUserId].map((memberId) => ({ conversation: freshId, user: memberId, role: 'member', joinedAt: now, lastReadSeq: 0 })),
            );
            return freshId;
          });
          created = true;
        } catch (error) {
          // The other user opened the same pair concurrently: theirs won, use it.
          if (!(error instanceof UniqueConstraintViolationException)) throw error;
          conversationId = (await orm.em.fork().findOneOrFail(Conversation, { directKey })).id;
        }
        membership.invalidate(conversationId);
      }
      const [mine] = await conversationDTOs(orm.em.fork(), userId, [conversationId]);
      if (created) {
        const [theirs] = await conversationDTOs(orm.em.fork(), otherUserId, [conversationId]);
        if (theirs) await bus.publish(topics.inbox(otherUserId), { type: 'conversation', conversation: theirs });
      }
      return mine!;
    },

    async list(userId: number): Promise<ConversationDTO[]> {
      const em = orm.em.fork();
      const memberships = await em.find(Membership, { user: userId }, { fields: ['conversation'] });
      return conversationDTOs(em, userId, memberships.map((m) => m.conversation));
    },

    /** Newest first; `cursor` is the `nextCursor` of the previous page (a sequence number). */
    async history(
      userId: number,
      { conversationId, cursor, limit }: { conversationId: number; cursor?: number | null; limit: number },
    ): Promise<HistoryPageDTO> {
      await membership.assertMember(conversationId, userId);
      const rows = await orm.em.fork().find(
        Message,
        { conversation: conversationId, ...(cursor != null ? { seq: { $lt: cursor } } : {}) },
        { orderBy: { seq: 'desc' }, limit: limit + 1 },
      );
      const page = rows.slice(0, limit);
      return {
        messages: page.map(toMessageDTO),
        nextCursor: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
      };
    },
  };
}

export type ConversationService = ReturnType<typeof createConversationService>;
