import type { MessageDTO } from '../../shared/dto.js';
import type { NotificationContent, NotificationDTO, NotificationPageDTO, NotificationType } from '../../shared/notifications.js';
import { topics } from '../bus/topics.js';
import { Group, Notification, User } from '../db/entities.js';
import type { NotificationEntity } from '../db/entities.js';
import { inCommitOrder } from '../db/commit-order.js';
import { insertReturningIds } from '../db/writes.js';
import { OFFLINE_NOTICE_GATHER_MS } from '../config.js';
import type { Deps } from './deps.js';
import { notFound } from './errors.js';
import type { MembershipService } from './membership.js';

/**
 * Gathers items by key (the first of each key is kept) for `ms`, then hands them to `handle`,
 * one gathering at a time, in order.
 */
function gather<T>(ms: number, handle: (items: T[]) => Promise<void>) {
  let gathered = new Map<string, T>();
  let timer: NodeJS.Timeout | null = null;
  let chain = Promise.resolve();
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (gathered.size > 0) {
      const items = [...gathered.values()];
      gathered = new Map();
      chain = chain.then(() => handle(items));
    }
    return chain;
  };
  return {
    add(key: string, item: T) {
      if (!gathered.has(key)) gathered.set(key, item);
      timer ??= setTimeout(flush, ms);
    },
    flush,
  };
}

export const toNotificationDTO = (row: NotificationEntity): NotificationDTO => ({
  id: row.id,
  type: row.type as NotificationType,
  content: row.content,
  conversationId: row.conversationId ?? null,
  groupId: row.groupId ?? null,
  createdAt: row.createdAt.toISOString(),
  readAt: row.readAt ? row.readAt.toISOString() : null,
});

/**
 * "ann in Weekend" for a group, "ann sent you a message" for a direct chat: who wrote, and where.
 * One lookup of senders and one of groups per batch.
 */
async function messageTitles(em: Deps['orm']['em'], messages: readonly MessageDTO[]): Promise<Map<number, string>> {
  if (messages.length === 0) return new Map();
  const [senders, groups] = await Promise.all([
    em.find(User, { id: { $in: [...new Set(messages.map((message) => message.senderId))] } }, { fields: ['id', 'username'] }),
    em.find(Group, { conversation: { $in: [...new Set(messages.map((message) => message.conversationId))] } }, { fields: ['id', 'name', 'conversation'] }),
  ]);
  const nameOf = new Map(senders.map((user) => [user.id, user.username]));
  const groupOf = new Map(groups.map((group) => [group.conversation, group.name]));
  return new Map(
    messages.map((message) => {
      const sender = nameOf.get(message.senderId) ?? 'Someone';
      const group = groupOf.get(message.conversationId);
      return [message.id, (group ? `${sender} in ${group}` : `${sender} sent you a message`).slice(0, 120)];
    }),
  );
}

export type NewNotification = {
  userId: number;
  type: NotificationType;
  content: NotificationContent;
  conversationId?: number | null;
  groupId?: number | null;
};

export function createNotificationService(
  { orm, bus, clock, config, logger }: Deps,
  membership: MembershipService,
  /** Whether the user counts as present through this instance: connected, or gone for less than the presence grace. */
  presentHere: (userId: number) => boolean,
  /** Of these users, who holds a connection on another instance (shared presence); none by default. */
  onlineElsewhere: (userIds: number[]) => Promise<Set<number>> = async () => new Set(),
) {
  const unreadCount = (userId: number) => orm.em.fork().count(Notification, { user: userId, readAt: null });

  const service = {
    unreadCount,

    /** Stores a notification, then publishes it with the user's new unread count. */
    async create(input: NewNotification): Promise<NotificationDTO> {
      const [notification] = await service.createMany([input]);
      return notification!;
    },

    /** Stores several in one INSERT, then publishes each with its user's new unread count. */
    async createMany(inputs: readonly NewNotification[]): Promise<NotificationDTO[]> {
      if (inputs.length === 0) return [];
      const em = orm.em.fork();
      const createdAt = new Date(clock.now());
      const data = inputs.map(({ userId, type, content, conversationId = null, groupId = null }) => ({
        user: userId,
        type,
        content,
        conversationId,
        groupId,
        createdAt,
        readAt: null,
      }));
      // In commit order: notification.stream resumes after a notification id (db/commit-order.ts).
      const ids = await inCommitOrder({ em }, Notification, (tx) => insertReturningIds<NotificationEntity>(tx, Notification, data));
      const rows = data.map((row, index): NotificationEntity => ({ ...row, id: ids[index]! }));
      const userIds = [...new Set(inputs.map((input) => input.userId))];
      const counts = await em.execute<Array<{ userId: number; n: number }>>(
        `SELECT user_id AS "userId", count(*) AS n FROM notifications WHERE read_at IS NULL AND user_id IN (${userIds.map(() => '?').join(',')}) GROUP BY user_id`,
        userIds,
      );
      const unreadByUser = new Map(counts.map((row) => [Number(row.userId), Number(row.n)]));
      const notifications = rows.map(toNotificationDTO);
      await Promise.all(
        rows.map((row, index) =>
          bus.publish(topics.notifications(row.user), { type: 'notification', notification: notifications[index]!, unreadCount: unreadByUser.get(row.user) ?? 0 }),
        ),
      );
      return notifications;
    },

    /** For trusted backend code (`notification.push`): the user must exist. */
    async push(input: Omit<NewNotification, 'conversationId' | 'groupId'>): Promise<NotificationDTO> {
      if (!(await orm.em.fork().count(User, { id: input.userId }))) throw notFound('User');
      return service.create(input);
    },

    /** Newest first, paged by id. */
    async list(userId: number, { cursor, limit, unreadOnly }: { cursor?: number | null; limit: number; unreadOnly: boolean }): Promise<NotificationPageDTO> {
      const rows = await orm.em.fork().find(
        Notification,
        { user: userId, ...(cursor != null ? { id: { $lt: cursor } } : {}), ...(unreadOnly ? { readAt: null } : {}) },
        { orderBy: { id: 'desc' }, limit: limit + 1 },
      );
      const page = rows.slice(0, limit);
      return {
        notifications: page.map(toNotificationDTO),
        nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
        unreadCount: await unreadCount(userId),
      };
    },

    /** Marks some or all as read; every open stream of the user gets the new count. */
    async markRead(userId: number, target: { ids: number[] } | { all: true }): Promise<{ unreadCount: number }> {
      const where = 'ids' in target ? { user: userId, readAt: null, id: { $in: target.ids } } : { user: userId, readAt: null };
      const changed = await orm.em.fork().nativeUpdate(Notification, where, { readAt: new Date(clock.now()) });
      const count = await unreadCount(userId);
      if (changed > 0) {
        await bus.publish(topics.notifications(userId), { type: 'read', ids: 'ids' in target ? target.ids : 'all', unreadCount: count });
      }
      return { unreadCount: count };
    },

    /** Answering an invitation settles the invitation notifications of that group. */
    async settleInvitations(userId: number, groupId: number): Promise<void> {
      const rows = await orm.em.fork().find(Notification, { user: userId, type: 'group.invitation', groupId, readAt: null }, { fields: ['id'] });
      if (rows.length > 0) await service.markRead(userId, { ids: rows.map((row) => row.id) });
    },

    /** Reading a conversation settles its "new message" notification. */
    async conversationRead(userId: number, conversationId: number): Promise<void> {
      const rows = await orm.em.fork().find(Notification, { user: userId, type: 'message', conversationId, readAt: null }, { fields: ['id'] });
      if (rows.length > 0) await service.markRead(userId, { ids: rows.map((row) => row.id) });
    },

    /**
     * One "new message" notification per conversation for members with no open connection,
     * until they read it. Runs after publishing, off the send path: candidates gather for
     * `offlineNoticeGatherMs`, then one presence lookup, one read and one insert serve them all
     * (with several instances each lookup is a round trip to the shared presence: one per batch
     * of messages cost Redis about as much as the messages themselves).
     */
    notifyOffline(messages: MessageDTO[]) {
      // The first message per (offline member, conversation); members present get none, nor do
      // those whose connection dropped less than the presence grace ago (a reload, a network
      // blip: their client replays the messages when it is back, as with several instances,
      // where the shared presence keeps them online for that grace too).
      for (const message of messages) {
        for (const userId of membership.cached(message.conversationId) ?? []) {
          if (userId === message.senderId || presentHere(userId)) continue;
          offline.add(`${userId}:${message.conversationId}`, { userId, message });
        }
      }
    },

    /** Writes the gathered offline notifications now (shutdown). */
    flushOffline: () => offline.flush(),
  };

  type Candidate = { userId: number; message: MessageDTO };
  async function notifyCandidates(candidates: Candidate[]) {
    // Not connected here may still be connected through another instance.
    const elsewhere = await onlineElsewhere([...new Set(candidates.map((c) => c.userId))]);
    const pending = candidates.filter((c) => !elsewhere.has(c.userId));
    if (pending.length === 0) return;
    const open = await orm.em.fork().find(
      Notification,
      {
        type: 'message',
        readAt: null,
        user: { $in: [...new Set(pending.map((c) => c.userId))] },
        conversationId: { $in: [...new Set(pending.map((c) => c.message.conversationId))] },
      },
      { fields: ['user', 'conversationId'] },
    );
    const notified = new Set(open.map((row) => `${row.user}:${row.conversationId}`));
    const fresh = pending.filter(({ userId, message }) => !notified.has(`${userId}:${message.conversationId}`));
    const titles = await messageTitles(orm.em.fork(), fresh.map(({ message }) => message));
    await service.createMany(
      fresh.map(({ userId, message }) => ({
        userId,
        type: 'message' as const,
        conversationId: message.conversationId,
        content: { title: titles.get(message.id) ?? 'New message', body: message.content.slice(0, 200), actorId: message.senderId, url: `/c/${message.conversationId}` },
      })),
    );
  }
  const offline = gather<Candidate>(config.timings.offlineNoticeGatherMs ?? OFFLINE_NOTICE_GATHER_MS, (candidates) =>
    notifyCandidates(candidates).catch((error: unknown) => logger.error({ err: error }, 'offline notifications failed')),
  );
  return service;
}

export type NotificationService = ReturnType<typeof createNotificationService>;
