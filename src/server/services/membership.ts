import { preparedReadsOf } from '../db/prepared.js';
import type { Deps } from './deps.js';
import { forbidden } from './errors.js';
import { createSingleFlight } from './single-flight.js';

/**
 * Who belongs to which conversation, cached in memory: the send and deliver paths ask it for
 * every message, so it must not cost a query each time. Every membership change goes through
 * `invalidate`, which services/index.ts also announces to the other instances (services/cluster.ts).
 */
export function createMembershipService({ orm }: Pick<Deps, 'orm'>) {
  const membersByConversation = new Map<number, Set<number>>();
  const versions = new Map<number, number>();
  // Callers that miss the cache together share one query.
  const loads = createSingleFlight<number, Set<number>>();

  function load(conversationId: number): Promise<Set<number>> {
    // The version when the load is asked for (single-flight starts it a promise job later, after
    // a change made meanwhile): a load asked for before a change is never cached.
    const version = versions.get(conversationId) ?? 0;
    return loads.run(conversationId, async () => {
      // A prepared read: after a start, each conversation's first subscriber or sender loads it.
      const rows = await preparedReadsOf(orm).all<{ user: number }>('SELECT user_id AS "user" FROM memberships WHERE conversation_id = ?', [conversationId]);
      const members = new Set(rows.map((row) => Number(row.user)));
      // Keep the result only if no change happened while it loaded.
      if ((versions.get(conversationId) ?? 0) === version) membersByConversation.set(conversationId, members);
      return members;
    });
  }

  const service = {
    async members(conversationId: number): Promise<ReadonlySet<number>> {
      return membersByConversation.get(conversationId) ?? load(conversationId);
    },

    /** The cached members, when known, without waiting (hot paths fall back to `members`). */
    cached(conversationId: number): ReadonlySet<number> | undefined {
      return membersByConversation.get(conversationId);
    },

    async isMember(conversationId: number, userId: number): Promise<boolean> {
      return (await service.members(conversationId)).has(userId);
    },

    /** Throws FORBIDDEN for non-members and for conversations that do not exist (no id oracle). */
    async assertMember(conversationId: number, userId: number): Promise<void> {
      if (!(await service.isMember(conversationId, userId))) throw forbidden();
    },

    invalidate(conversationId: number): void {
      versions.set(conversationId, (versions.get(conversationId) ?? 0) + 1);
      membersByConversation.delete(conversationId);
      // A load that started before this change must not serve the callers that come after it.
      loads.forget(conversationId);
    },
  };
  return service;
}

export type MembershipService = ReturnType<typeof createMembershipService>;
