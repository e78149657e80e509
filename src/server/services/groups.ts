import type { ConversationDTO } from '../../shared/dto.js';
import { topics } from '../bus/topics.js';
import { Conversation, Group, Membership, User } from '../db/entities.js';
import { conversationDTOs } from './conversations.js';
import type { Deps } from './deps.js';
import { badRequest, notFound } from './errors.js';
import type { MembershipService } from './membership.js';

export function createGroupService({ orm, bus, clock }: Deps, membership: MembershipService) {
  return {
    /**
     * Creates a group, its conversation and memberships directly (no invitations): the internal
     * building block that `group.create` and the demo seed use.
     */
    async createWithMembers(ownerId: number, name: string, memberIds: readonly number[]): Promise<ConversationDTO> {
      const members = [...new Set(memberIds)].filter((id) => id !== ownerId);
      const em = orm.em.fork();
      if (members.length > 0 && (await em.count(User, { id: { $in: members } })) !== members.length) {
        throw notFound('User');
      }
      if (!name.trim()) throw badRequest('A group needs a name');
      const conversationId = await em.transactional(async (tx) => {
        const now = new Date(clock.now());
        const conversation = tx.create(Conversation, { kind: 'group', directKey: null, createdAt: now });
        await tx.flush();
        tx.create(Group, { name: name.trim(), owner: ownerId, conversation: conversation.id, createdAt: now });
        tx.create(Membership, { conversation: conversation.id, user: ownerId, role: 'owner', joinedAt: now, lastReadSeq: 0 });
        for (const userId of members) {
          tx.create(Membership, { conversation: conversation.id, user: userId, role: 'member', joinedAt: now, lastReadSeq: 0 });
        }
        return conversation.id;
      });
      membership.invalidate(conversationId);
      for (const userId of members) {
        const [view] = await conversationDTOs(orm.em.fork(), userId, [conversationId]);
        if (view) await bus.publish(topics.inbox(userId), { type: 'conversation', conversation: view });
      }
      const [mine] = await conversationDTOs(orm.em.fork(), ownerId, [conversationId]);
      return mine!;
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
