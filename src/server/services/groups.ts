import type { EntityManager } from '../db/driver.js';
import type { ConversationDTO } from '../../shared/dto.js';
import type { GroupDTO, GroupListDTO, GroupMemberDTO, InvitationDTO } from '../../shared/social.js';
import { topics } from '../bus/topics.js';
import { Conversation, Group, Invitation, Membership, User, type GroupEntity, type InvitationEntity, type MembershipEntity } from '../db/entities.js';
import { inTransaction } from '../db/transactions.js';
import { conversationDTOs } from './conversations.js';
import type { Deps } from './deps.js';
import { LIMITS } from '../../shared/limits.js';
import type { BlockService } from './blocks.js';
import { badRequest, conflict, DomainError, forbidden, notFound } from './errors.js';
import type { RateLimits } from './rate-limits.js';
import { toUserDTO } from './mappers.js';
import type { MembershipService } from './membership.js';
import type { NotificationService } from './notifications.js';

async function groupDTOs(em: EntityManager, groups: GroupEntity[]): Promise<GroupDTO[]> {
  if (groups.length === 0) return [];
  const rows = await em.execute<Array<{ conversationId: number; n: number }>>(
    `SELECT conversation_id AS "conversationId", count(*) AS n FROM memberships WHERE conversation_id IN (${groups.map(() => '?').join(',')}) GROUP BY conversation_id`,
    groups.map((group) => group.conversation),
  );
  const counts = new Map(rows.map((row) => [Number(row.conversationId), Number(row.n)]));
  return groups.map((group) => ({
    id: group.id,
    name: group.name,
    ownerId: group.owner,
    conversationId: group.conversation,
    memberCount: counts.get(group.conversation) ?? 0,
  }));
}

type InvitationRow = Pick<InvitationEntity, 'id' | 'group' | 'inviter' | 'invitee' | 'status' | 'createdAt'>;

async function invitationDTOs(em: EntityManager, invitations: readonly InvitationRow[]): Promise<InvitationDTO[]> {
  if (invitations.length === 0) return [];
  const [groups, users] = await Promise.all([
    em.find(Group, { id: { $in: invitations.map((i) => i.group) } }),
    em.find(User, { id: { $in: invitations.flatMap((i) => [i.inviter, i.invitee]) } }),
  ]);
  const groupById = new Map(groups.map((g) => [g.id, g]));
  const userById = new Map(users.map((u) => [u.id, toUserDTO(u)]));
  return invitations.map((invitation) => ({
    id: invitation.id,
    groupId: invitation.group,
    groupName: groupById.get(invitation.group)?.name ?? '',
    inviter: userById.get(invitation.inviter)!,
    invitee: userById.get(invitation.invitee)!,
    status: invitation.status,
    createdAt: invitation.createdAt.toISOString(),
  }));
}

/**
 * Groups own a group conversation; membership of the group is membership of that conversation.
 * Joining by invitation shows the whole history (a group is a shared room, like Slack channels):
 * the new member's read pointer starts at the latest message so old messages do not count as unread.
 */
type GroupServiceParts = {
  membership: MembershipService;
  notifications: NotificationService;
  rateLimits: RateLimits;
  blocks: BlockService;
};

export function createGroupService(deps: Deps, { membership, notifications, rateLimits, blocks }: GroupServiceParts) {
  const { orm, bus, clock } = deps;

  async function loadGroup(em: EntityManager, groupId: number) {
    const group = await em.findOne(Group, { id: groupId });
    if (!group) throw notFound('Group');
    return group;
  }

  /** The group, if the caller is a member: one answer (NOT_FOUND) whether it exists or not. */
  async function loadVisibleGroup(em: EntityManager, groupId: number, userId: number) {
    const group = await em.findOne(Group, { id: groupId });
    if (!group || !(await membership.isMember(group.conversation, userId))) throw notFound('Group');
    return group;
  }

  /**
   * Who may be invited by `inviterId`: existing users who did not block them (NOT_FOUND, as for
   * no such user), with fewer than LIMITS.pendingInvitationsPerInvitee invitations pending from
   * them. Spends the inviter's and each invitee's invitation budget.
   */
  async function admitInvitations(inviterId: number, inviteeIds: readonly number[]) {
    if (inviteeIds.length === 0) return;
    const em = orm.em.fork();
    if ((await em.count(User, { id: { $in: [...inviteeIds] } })) !== inviteeIds.length) throw notFound('User');
    for (const inviteeId of inviteeIds) if (await blocks.hasBlocked(inviteeId, inviterId)) throw notFound('User');
    for (const inviteeId of inviteeIds) {
      const pending = await em.count(Invitation, { inviter: inviterId, invitee: inviteeId, status: 'pending' });
      if (pending >= LIMITS.pendingInvitationsPerInvitee) {
        throw new DomainError('TOO_MANY_REQUESTS', `At most ${LIMITS.pendingInvitationsPerInvitee} of your invitations may wait for one user's answer`);
      }
    }
    await rateLimits.consume('invite', inviterId, inviteeIds.length);
    for (const inviteeId of inviteeIds) await rateLimits.consume('invited', inviteeId);
  }

  async function announceConversation(userId: number, conversationId: number) {
    const [view] = await conversationDTOs(orm.em.fork(), userId, [conversationId]);
    if (view) await bus.publish(topics.inbox(userId), { type: 'conversation', conversation: view });
  }

  /** Removes a membership, handing ownership over or deleting the group as needed. */
  async function dropMember(group: GroupEntity, userId: number, change: 'left' | 'removed') {
    const conversationId = group.conversation;
    let deleted = false;
    await inTransaction(orm, async (tx) => {
      await tx.nativeDelete(Membership, { conversation: conversationId, user: userId });
      if (group.owner === userId) {
        const heir = await tx.findOne(Membership, { conversation: conversationId }, { orderBy: { joinedAt: 'asc', id: 'asc' } });
        if (heir) {
          await tx.nativeUpdate(Membership, { id: heir.id }, { role: 'owner' });
          await tx.nativeUpdate(Group, { id: group.id }, { owner: heir.user });
        } else {
          await tx.nativeDelete(Invitation, { group: group.id });
          await tx.nativeDelete(Group, { id: group.id });
          await tx.nativeDelete(Conversation, { id: conversationId });
          deleted = true;
        }
      }
    });
    // Invalidate before publishing: the departed member's open streams re-check and end.
    membership.invalidate(conversationId);
    await bus.publish(topics.conversation(conversationId), { type: 'members', conversationId, userId, change });
    await bus.publish(topics.inbox(userId), { type: 'removed', conversationId });
    // A relationship ended: every open presence watch on either side re-checks whom it may see.
    await blocks.announce(userId, ...(deleted ? [] : await membership.members(conversationId)));
    return { deleted };
  }

  async function insertInvitation(group: GroupEntity, inviterId: number, inviteeId: number): Promise<InvitationDTO> {
    const em = orm.em.fork();
    const groupId = group.id;
    const data = { group: groupId, inviter: inviterId, invitee: inviteeId, status: 'pending' as const, createdAt: new Date(clock.now()), respondedAt: null };
    const invitation = { ...data, id: Number(await em.insert(Invitation, data)) };
    const [dto] = await invitationDTOs(em, [invitation]);
    await notifications.create({
      userId: inviteeId,
      type: 'group.invitation',
      groupId,
      content: { title: `${dto!.inviter.username} invited you to ${group.name}`, actorId: inviterId, data: { invitationId: invitation.id } },
    });
    return dto!;
  }

  const service = {
    /**
     * Creates a group, its conversation and memberships directly (no invitations): the internal
     * building block for seeds, benchmarks and tests.
     */
    async createWithMembers(ownerId: number, name: string, memberIds: readonly number[]): Promise<ConversationDTO> {
      const members = [...new Set(memberIds)].filter((id) => id !== ownerId);
      const em = orm.em.fork();
      if (members.length > 0 && (await em.count(User, { id: { $in: members } })) !== members.length) throw notFound('User');
      if (!name.trim()) throw badRequest('A group needs a name');
      const conversationId = await inTransaction(orm, async (tx) => {
        const now = new Date(clock.now());
        const id = Number(await tx.insert(Conversation, { kind: 'group', directKey: null, createdAt: now }));
        await tx.insert(Group, { name: name.trim(), owner: ownerId, conversation: id, createdAt: now });
        await tx.insertMany<MembershipEntity>(
          Membership,
          [ownerId, ...members].map((userId) => ({
            conversation: id,
            user: userId,
            role: userId === ownerId ? 'owner' : 'member',
            joinedAt: now,
            lastReadSeq: 0,
          })),
        );
        return id;
      });
      membership.invalidate(conversationId);
      for (const userId of members) await announceConversation(userId, conversationId);
      if (members.length > 0) await blocks.announce(ownerId, ...members); // new co-members: presence watches re-check
      const [mine] = await conversationDTOs(orm.em.fork(), ownerId, [conversationId]);
      return mine!;
    },

    /** `group.create`: the caller owns it; named users are invited, not added. */
    async create(ownerId: number, name: string, inviteIds: readonly number[] = []): Promise<{ group: GroupDTO; invitations: InvitationDTO[] }> {
      const invitees = [...new Set(inviteIds)].filter((id) => id !== ownerId);
      await rateLimits.consume('groupCreate', ownerId);
      // Every invitation is admitted before the group exists: a refused create stores nothing.
      await admitInvitations(ownerId, invitees);
      const conversation = await service.createWithMembers(ownerId, name, []);
      const created = await loadGroup(orm.em.fork(), conversation.groupId!);
      const invitations: InvitationDTO[] = [];
      for (const userId of invitees) invitations.push(await insertInvitation(created, ownerId, userId));
      const [group] = await groupDTOs(orm.em.fork(), [created]);
      return { group: group!, invitations };
    },

    /** Any member may invite; inviting a member or someone already invited is a CONFLICT. */
    async invite(inviterId: number, groupId: number, inviteeId: number): Promise<InvitationDTO> {
      const em = orm.em.fork();
      const group = await loadVisibleGroup(em, groupId, inviterId);
      if (inviteeId === inviterId) throw conflict('Already a member of this group');
      if (await membership.isMember(group.conversation, inviteeId)) {
        // A member the inviter is blocked by must look like no such user, not like a member.
        if (await blocks.hasBlocked(inviteeId, inviterId)) throw notFound('User');
        throw conflict('Already a member of this group');
      }
      if (await em.count(Invitation, { group: groupId, invitee: inviteeId, status: 'pending' })) throw conflict('Already invited to this group');
      await admitInvitations(inviterId, [inviteeId]);
      return insertInvitation(group, inviterId, inviteeId);
    },
    /** The invitee accepts (joins the group conversation) or declines a pending invitation. */
    async respond(userId: number, invitationId: number, accept: boolean): Promise<{ invitation: InvitationDTO; group: GroupDTO | null }> {
      const em = orm.em.fork();
      const invitation = await em.findOne(Invitation, { id: invitationId });
      // Someone else's invitation is reported as missing: ids reveal nothing.
      if (!invitation || invitation.invitee !== userId) throw notFound('Invitation');
      if (invitation.status !== 'pending') throw conflict(`Invitation already ${invitation.status}`);
      const group = await loadGroup(em, invitation.group);
      const now = new Date(clock.now());
      await inTransaction(orm, async (tx) => {
        const updated = await tx.nativeUpdate(Invitation, { id: invitationId, status: 'pending' }, { status: accept ? 'accepted' : 'declined', respondedAt: now });
        if (updated === 0) throw conflict('Invitation already answered');
        if (!accept) return;
        const [latest] = await tx.execute<Array<{ seq: number | null }>>('SELECT max(seq) AS seq FROM messages WHERE conversation_id = ?', [group.conversation]);
        await tx.insert(Membership, { conversation: group.conversation, user: userId, role: 'member', joinedAt: now, lastReadSeq: Number(latest?.seq ?? 0) });
      });
      const [dto] = await invitationDTOs(orm.em.fork(), [await orm.em.fork().findOneOrFail(Invitation, { id: invitationId })]);
      // Answered (here, in the groups panel or another tab): its bell entry is settled everywhere.
      await notifications.settleInvitations(userId, group.id);
      if (!accept) return { invitation: dto!, group: null };
      membership.invalidate(group.conversation);
      await bus.publish(topics.conversation(group.conversation), { type: 'members', conversationId: group.conversation, userId, change: 'joined' });
      await blocks.announce(...(await membership.members(group.conversation))); // a relationship began
      await announceConversation(userId, group.conversation);
      await notifications.create({
        userId: invitation.inviter,
        type: 'group.invitation.accepted',
        groupId: group.id,
        conversationId: group.conversation,
        content: { title: `${dto!.invitee.username} joined ${group.name}`, actorId: userId },
      });
      const [groupDto] = await groupDTOs(orm.em.fork(), [await loadGroup(orm.em.fork(), group.id)]);
      return { invitation: dto!, group: groupDto! };
    },

    /** The owner leaving hands ownership to the longest-standing member, or deletes the group when alone. */
    async leave(userId: number, groupId: number): Promise<{ deleted: boolean }> {
      const group = await loadVisibleGroup(orm.em.fork(), groupId, userId);
      return dropMember(group, userId, 'left');
    },

    async removeMember(ownerId: number, groupId: number, userId: number): Promise<{ ok: true }> {
      const group = await loadVisibleGroup(orm.em.fork(), groupId, ownerId);
      if (group.owner !== ownerId) throw forbidden('Only the owner can remove members');
      if (userId === ownerId) throw badRequest('Use group.leave to leave your own group');
      if (!(await membership.isMember(group.conversation, userId))) throw notFound('Member');
      await dropMember(group, userId, 'removed');
      await notifications.create({ userId, type: 'group.removed', groupId, content: { title: `You were removed from ${group.name}`, actorId: ownerId } });
      return { ok: true };
    },

    async members(userId: number, groupId: number): Promise<GroupMemberDTO[]> {
      const em = orm.em.fork();
      const group = await loadVisibleGroup(em, groupId, userId);
      const rows = await em.find(Membership, { conversation: group.conversation }, { orderBy: { joinedAt: 'asc', id: 'asc' } });
      const users = new Map((await em.find(User, { id: { $in: rows.map((r) => r.user) } })).map((u) => [u.id, u]));
      return rows.map((row) => ({ ...toUserDTO(users.get(row.user)!), role: row.role, joinedAt: row.joinedAt.toISOString() }));
    },

    async list(userId: number): Promise<GroupListDTO> {
      const em = orm.em.fork();
      const memberOf = (await em.find(Membership, { user: userId }, { fields: ['conversation'] })).map((m) => m.conversation);
      const [groups, pending] = await Promise.all([
        memberOf.length ? em.find(Group, { conversation: { $in: memberOf } }, { orderBy: { id: 'asc' } }) : Promise.resolve([]),
        em.find(Invitation, { invitee: userId, status: 'pending' }, { orderBy: { id: 'desc' } }),
      ]);
      return { groups: await groupDTOs(em, groups), invitations: await invitationDTOs(em, pending) };
    },
  };
  return service;
}

export type GroupService = ReturnType<typeof createGroupService>;
