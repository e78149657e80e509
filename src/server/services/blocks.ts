import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { UserDTO } from '../../shared/dto.js';
import type { Topic } from '../bus/types.js';
import { Block, User } from '../db/entities.js';
import { preparedReadsOf } from '../db/prepared.js';
import type { Deps } from './deps.js';
import { badRequest, notFound } from './errors.js';
import { toUserDTO } from './mappers.js';
import { createSingleFlight } from './single-flight.js';

/** Told to a user's open presence watches when one of their relationships ended (they re-check). */
export type ScopeEvent = { scopeChanged: true };
export const presenceScopeTopic = (userId: number) => ({ key: `presence-scope:${userId}` }) as Topic<ScopeEvent>;

/**
 * Blocking. Silent: the blocker is never announced; to the blocked user the blocker looks like
 * an account that does not exist (search, direct chat, invitations) and shows no presence or
 * typing. Who blocked a user is cached in memory (checked on every send in a direct chat);
 * the cached sets are updated in place, so open streams holding one see a block at once.
 */
export function createBlockService({ orm, bus, clock }: Deps) {
  const blockersByUser = new Map<number, Set<number>>();
  const versions = new Map<number, number>();
  const loads = createSingleFlight<number, Set<number>>();

  function load(userId: number): Promise<Set<number>> {
    return loads.run(userId, async () => {
      const version = versions.get(userId) ?? 0;
      // A prepared read: each user's first conversation stream on this instance loads it.
      const rows = await preparedReadsOf(orm).all<{ blocker: number }>('SELECT blocker_id AS "blocker" FROM blocks WHERE blocked_id = ?', [userId]);
      const blockers = new Set(rows.map((row) => Number(row.blocker)));
      if ((versions.get(userId) ?? 0) !== version) return blockers; // changed meanwhile: not cached
      return blockersByUser.get(userId) ?? (blockersByUser.set(userId, blockers), blockers);
    });
  }

  function changed(blockedId: number) {
    versions.set(blockedId, (versions.get(blockedId) ?? 0) + 1);
    loads.forget(blockedId);
  }

  async function announce(...userIds: number[]) {
    for (const userId of userIds) await bus.publish(presenceScopeTopic(userId), { scopeChanged: true });
  }

  const service = {
    /** Users who blocked `userId` (a live set: it changes in place). */
    blockersOf(userId: number): Promise<ReadonlySet<number>> | ReadonlySet<number> {
      return blockersByUser.get(userId) ?? load(userId);
    },

    /** True when `blockerId` blocked `userId`. */
    async hasBlocked(blockerId: number, userId: number): Promise<boolean> {
      return (await service.blockersOf(userId)).has(blockerId);
    },

    async block(blockerId: number, blockedId: number): Promise<{ ok: true }> {
      if (blockerId === blockedId) throw badRequest('You cannot block yourself');
      const em = orm.em.fork();
      if (!(await em.count(User, { id: blockedId }))) throw notFound('User');
      if (!(await em.count(Block, { blocker: blockerId, blocked: blockedId }))) {
        await em.insert(Block, { blocker: blockerId, blocked: blockedId, createdAt: new Date(clock.now()) }).catch((error: unknown) => {
          // The same block, twice at once: already done.
          if (!(error instanceof UniqueConstraintViolationException)) throw error;
        });
      }
      changed(blockedId);
      blockersByUser.get(blockedId)?.add(blockerId);
      await announce(blockerId, blockedId);
      return { ok: true };
    },

    async unblock(blockerId: number, blockedId: number): Promise<{ ok: true }> {
      await orm.em.fork().nativeDelete(Block, { blocker: blockerId, blocked: blockedId });
      changed(blockedId);
      blockersByUser.get(blockedId)?.delete(blockerId);
      return { ok: true };
    },

    /** The users the caller blocked, by name. */
    async blocked(blockerId: number): Promise<UserDTO[]> {
      const em = orm.em.fork();
      const rows = await em.find(Block, { blocker: blockerId }, { fields: ['blocked'] });
      if (rows.length === 0) return [];
      const users = await em.find(User, { id: { $in: rows.map((row) => row.blocked) } }, { orderBy: { username: 'asc' } });
      return users.map(toUserDTO);
    },

    /** Open presence watches of these users re-check whom they may see. */
    announce,

    /** A block or unblock made on another instance (services/cluster.ts): the cached set follows it. */
    applyRemote(blockerId: number, blockedId: number, blocked: boolean): void {
      changed(blockedId);
      const blockers = blockersByUser.get(blockedId);
      if (blocked) blockers?.add(blockerId);
      else blockers?.delete(blockerId);
    },
  };
  return service;
}

export type BlockService = ReturnType<typeof createBlockService>;
