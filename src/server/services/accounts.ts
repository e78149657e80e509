/**
 * What trusted backend code does to users and groups (the `service.*` procedures): membership
 * changes without invitations, system messages, and account deletion.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ConversationDTO, MessageDTO } from '../../shared/dto.js';
import { DELETED_MESSAGE_CONTENT, DELETED_USER_NAME } from '../../shared/integration.js';
import { newClientMessageId } from '../../shared/ids.js';
import { topics } from '../bus/topics.js';
import { Conversation, Group, Invitation, Membership, Message, NO_PASSWORD, Notification, Session, User } from '../db/entities.js';
import { inTransaction } from '../db/transactions.js';
import type { ConnectionRegistry } from './connections.js';
import { conversationDTOs } from './conversations.js';
import type { Deps } from './deps.js';
import { conflict, notFound } from './errors.js';
import type { ExternalUserService } from './external-users.js';
import type { GroupService } from './groups.js';
import type { MembershipService } from './membership.js';
import type { MessageService } from './messages.js';

/** Messages erased per statement: `sender_id` has no index (README, Known limits), so each batch scans an id range only. */
const ERASE_BATCH_IDS = 10_000;

type AccountDeps = {
  membership: MembershipService;
  groups: GroupService;
  messages: MessageService;
  connections: ConnectionRegistry;
  externalUsers: ExternalUserService;
};

export function createAccountService(deps: Deps, { membership, groups, messages, connections, externalUsers }: AccountDeps) {
  const { orm, bus, clock } = deps;

  async function groupOf(groupId: number) {
    const group = await orm.em.fork().findOne(Group, { id: groupId });
    if (!group) throw notFound('Group');
    return group;
  }

  /** Erases the content of a user's messages, id range by id range, letting other work run between batches. */
  async function eraseMessagesOf(userId: number): Promise<number> {
    const [row] = await orm.em.fork().execute<Array<{ maxId: number | null }>>('SELECT max(id) AS "maxId" FROM messages');
    const maxId = Number(row?.maxId ?? 0);
    let erased = 0;
    for (let from = 0; from < maxId; from += ERASE_BATCH_IDS) {
      erased += await orm.em.fork().nativeUpdate(Message, { id: { $gt: from, $lte: from + ERASE_BATCH_IDS }, sender: userId }, { content: DELETED_MESSAGE_CONTENT });
      await nextTurn();
    }
    return erased;
  }

  return {
    /** Adds a user to a group at once (no invitation); like an accepted invitee, nothing old counts as unread. */
    async addMember(groupId: number, userId: number): Promise<{ ok: true }> {
      const group = await groupOf(groupId);
      if (await membership.isMember(group.conversation, userId)) throw conflict('Already a member of this group');
      await inTransaction(orm, async (tx) => {
        const [latest] = await tx.execute<Array<{ seq: number | null }>>('SELECT max(seq) AS seq FROM messages WHERE conversation_id = ?', [group.conversation]);
        await tx.insert(Membership, { conversation: group.conversation, user: userId, role: 'member', joinedAt: new Date(clock.now()), lastReadSeq: Number(latest?.seq ?? 0) });
      });
      membership.invalidate(group.conversation);
      await bus.publish(topics.conversation(group.conversation), { type: 'members', conversationId: group.conversation, userId, change: 'joined' });
      const [view] = await conversationDTOs(orm.em.fork(), userId, [group.conversation]);
      if (view) await bus.publish(topics.inbox(userId), { type: 'conversation', conversation: view });
      return { ok: true };
    },

    /** Removes a member as the owner would (an owner removed hands the group over, as when leaving). */
    async removeMember(groupId: number, userId: number): Promise<{ ok: true }> {
      const group = await groupOf(groupId);
      if (!(await membership.isMember(group.conversation, userId))) throw notFound('Member');
      if (group.owner === userId) await groups.leave(userId, groupId);
      else await groups.removeMember(group.owner, groupId, userId);
      return { ok: true };
    },

    /** A message from the system user (not a member), delivered and stored like any other. */
    async postSystemMessage(input: { conversationId?: number; groupId?: number; content: string; clientMessageId?: string }): Promise<MessageDTO> {
      const conversationId = input.groupId !== undefined ? await messages.conversationOfGroup(input.groupId) : input.conversationId!;
      if (!(await orm.em.fork().count(Conversation, { id: conversationId }))) throw notFound('Conversation');
      const senderId = await externalUsers.systemUserId();
      const clientMessageId = input.clientMessageId ?? newClientMessageId();
      return (await messages.writer.send({ conversationId, senderId, content: input.content.trim(), clientMessageId })).message;
    },

    /**
     * Deletes an account by the documented rule (README, "Account deletion"): sessions and sockets
     * end; the profile becomes an anonymous tombstone; message rows stay with their content
     * erased, so every conversation keeps its gap-free seq for replay and read pointers; groups
     * are left (ownership handed over, or the group deleted when alone); direct conversations stay,
     * showing "Deleted user"; the user's notifications and invitations are deleted.
     */
    async deleteUser(userId: number): Promise<{ erasedMessages: number; leftGroups: number }> {
      const em = orm.em.fork();
      // Refuse new requests first, then let sends already queued commit before their content is erased.
      await em.nativeDelete(Session, { user: userId });
      await em.nativeUpdate(User, { id: userId }, {
        username: `~deleted-${userId}`,
        displayName: DELETED_USER_NAME,
        externalId: null,
        avatarUrl: null,
        passwordHash: NO_PASSWORD,
        lastSeenAt: null,
        deletedAt: new Date(clock.now()),
      });
      connections.closeUser(userId, 'account deleted');
      await messages.writer.idle();

      const memberOf = (await em.find(Membership, { user: userId }, { fields: ['conversation'] })).map((row) => row.conversation);
      const joinedGroups = memberOf.length ? await em.find(Group, { conversation: { $in: memberOf } }, { fields: ['id'] }) : [];
      for (const group of joinedGroups) await groups.leave(userId, group.id);
      await em.nativeDelete(Invitation, { $or: [{ inviter: userId }, { invitee: userId }] });
      await em.nativeDelete(Notification, { user: userId });
      const erasedMessages = await eraseMessagesOf(userId);
      return { erasedMessages, leftGroups: joinedGroups.length };
    },

    async createGroup(ownerId: number, name: string, memberIds: readonly number[]): Promise<ConversationDTO> {
      return groups.createWithMembers(ownerId, name, memberIds);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
