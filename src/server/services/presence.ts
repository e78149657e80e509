import type { PresenceDTO } from '../../shared/social.js';
import { topics } from '../bus/topics.js';
import type { TimerHandle } from '../clock.js';
import { dateOf, preparedReadsOf } from '../db/prepared.js';
import type { ConnectionRegistry } from './connections.js';
import type { Deps } from './deps.js';

/**
 * Who is online. The in-memory store is per process; for several instances a shared store
 * (a Redis set of online users, with per-instance connection counts) implements the same calls.
 */
export interface PresenceStore {
  /** This instance now holds a connection of the user; true if they were offline everywhere. */
  setOnline(userId: number): Promise<boolean>;
  /** This instance holds none of the user's connections any more; true if they are now offline everywhere. */
  setOffline(userId: number): Promise<boolean>;
  onlineAmong(userIds: readonly number[]): Promise<Set<number>>;
  /**
   * Registers who announces users whose last holder stopped renewing its claim (an instance that
   * died): each such user is reported once, to one instance. A single process has none.
   */
  onExpired?(listener: (userId: number) => void): void;
  /** True for a store shared by several instances (it knows about connections elsewhere). */
  readonly shared?: boolean;
  close(): Promise<void>;
}

export function createMemoryPresenceStore(): PresenceStore {
  const online = new Set<number>();
  return {
    async setOnline(userId) {
      if (online.has(userId)) return false;
      online.add(userId);
      return true;
    },
    async setOffline(userId) {
      return online.delete(userId);
    },
    async onlineAmong(userIds) {
      return new Set(userIds.filter((id) => online.has(id)));
    },
    async close() {},
  };
}

const SNAPSHOT_CHUNK = 512;

export function createPresenceService(
  { orm, bus, clock, config, logger }: Deps,
  connections: ConnectionRegistry,
  store: PresenceStore = createMemoryPresenceStore(),
) {
  const graceTimers = new Map<number, TimerHandle>();

  async function goOnline(userId: number) {
    const pending = graceTimers.get(userId);
    if (pending !== undefined) {
      // Back within the grace period (a reload): nobody saw them leave.
      clock.clearTimeout(pending);
      graceTimers.delete(userId);
      return;
    }
    // Already online through another instance: nothing changes for watchers.
    if (!(await store.setOnline(userId))) return;
    const lastSeenAt = new Date(clock.now()).toISOString();
    await bus.publish(topics.presence(userId), { userId, status: 'online', lastSeenAt });
  }

  async function goOffline(userId: number) {
    graceTimers.delete(userId);
    if (connections.isConnected(userId)) return;
    // Still connected through another instance: not offline.
    if (!(await store.setOffline(userId))) return;
    await announceOffline(userId);
  }

  async function announceOffline(userId: number) {
    const lastSeen = new Date(clock.now());
    // A kept statement, not `nativeUpdate`: after a deploy, every user who has not reconnected
    // within the grace period goes offline here, and through the ORM (a fork, knex's query
    // building, a fresh `prepare`) that was 7 % of the server's CPU during a storm of 10,000.
    await preparedReadsOf(orm).all(`UPDATE users SET last_seen_at = ? WHERE id = ? RETURNING id AS "id"`, [lastSeen, userId]);
    await bus.publish(topics.presence(userId), { userId, status: 'offline', lastSeenAt: lastSeen.toISOString() });
  }

  const report = (error: unknown) => logger.error({ err: error }, 'presence update failed');
  // Users held only by an instance that died go offline here, whichever instance sweeps first.
  store.onExpired?.((userId) => void announceOffline(userId).catch(report));
  connections.onFirstConnection((userId) => void goOnline(userId).catch(report));
  connections.onLastDisconnection((userId) => {
    if (graceTimers.has(userId)) return;
    graceTimers.set(userId, clock.setTimeout(() => void goOffline(userId).catch(report), config.timings.presenceGraceMs));
  });

  /**
   * Whose presence `userId` may see: users who share a group with them, or a conversation in
   * which both have written (opening a direct chat alone shows nothing), and neither blocked
   * the other. The README states the rule.
   */
  async function contactsOf(userId: number): Promise<number[]> {
    // A prepared read: every presence watch starts with it.
    const rows = await preparedReadsOf(orm).all<{ userId: number }>(
      `SELECT DISTINCT theirs.user_id AS "userId" FROM memberships mine
       JOIN memberships theirs ON theirs.conversation_id = mine.conversation_id AND theirs.user_id <> mine.user_id
       JOIN conversations c ON c.id = mine.conversation_id
       WHERE mine.user_id = ?
         AND (c.kind = 'group'
              OR (EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.sender_id = mine.user_id)
                  AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.sender_id = theirs.user_id)))
         AND NOT EXISTS (SELECT 1 FROM blocks b
                         WHERE (b.blocker_id = theirs.user_id AND b.blocked_id = mine.user_id)
                            OR (b.blocker_id = mine.user_id AND b.blocked_id = theirs.user_id))`,
      [userId],
    );
    return rows.map((row) => Number(row.userId));
  }

  /**
   * Each user's last-seen time, as prepared reads (every watch starts with a snapshot): the id
   * list is padded to a power of two (repeating its last id), so a few statements serve every
   * length, and split beyond `SNAPSHOT_CHUNK`.
   */
  async function lastSeenOf(userIds: readonly number[]): Promise<Array<{ id: number; lastSeenAt: unknown }>> {
    const reads = preparedReadsOf(orm);
    const rows: Array<{ id: number; lastSeenAt: unknown }> = [];
    for (let start = 0; start < userIds.length; start += SNAPSHOT_CHUNK) {
      const chunk = userIds.slice(start, start + SNAPSHOT_CHUNK);
      const size = 2 ** Math.ceil(Math.log2(chunk.length));
      const ids = chunk.concat(new Array<number>(size - chunk.length).fill(chunk.at(-1)!));
      rows.push(...(await reads.all<{ id: number; lastSeenAt: unknown }>(`SELECT id AS "id", last_seen_at AS "lastSeenAt" FROM users WHERE id IN (${ids.map(() => '?').join(', ')})`, ids)));
    }
    return rows;
  }

  return {
    /** Users whose presence `userId` may see now (re-read when a relationship ends). */
    contactsOf,

    /** The users a watch listens to (the requested ones, or every contact), and those of them the caller may see now. */
    async watchable(userId: number, requested?: readonly number[]): Promise<{ watched: number[]; visible: number[] }> {
      const contacts = await contactsOf(userId);
      if (!requested) return { watched: contacts, visible: contacts };
      const watched = [...new Set(requested)].filter((id) => id !== userId);
      const visible = new Set(contacts);
      // Users the caller may not see are left out, whether they exist or not (no oracle, and
      // a blocked user learns nothing); they appear if a relationship begins while watching.
      return { watched, visible: watched.filter((id) => visible.has(id)) };
    },

    /** Connected through this instance, or gone from it for less than the grace period. */
    presentHere: (userId: number) => connections.isConnected(userId) || graceTimers.has(userId),

    /** Of these users, who is online through another instance (none without a shared store). */
    async onlineElsewhere(userIds: number[]): Promise<Set<number>> {
      if (!store.shared || userIds.length === 0) return new Set();
      return store.onlineAmong(userIds);
    },

    async snapshot(userIds: readonly number[]): Promise<PresenceDTO[]> {
      if (userIds.length === 0) return [];
      const [online, users] = await Promise.all([store.onlineAmong(userIds), lastSeenOf(userIds)]);
      return users.map((user) => ({
        userId: Number(user.id),
        status: online.has(Number(user.id)) ? 'online' : 'offline',
        lastSeenAt: user.lastSeenAt === null || user.lastSeenAt === undefined ? null : dateOf(user.lastSeenAt).toISOString(),
      }));
    },

    async dispose() {
      for (const timer of graceTimers.values()) clock.clearTimeout(timer);
      graceTimers.clear();
      await store.close();
    },
  };
}

export type PresenceService = ReturnType<typeof createPresenceService>;
