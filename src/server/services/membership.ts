import { Membership } from '../db/entities.js';
import type { Deps } from './deps.js';
import { forbidden } from './errors.js';

/**
 * Who belongs to which conversation, cached in memory: the send and deliver paths ask it for
 * every message, so it must not cost a query each time. Every membership change goes through
 * `invalidate` (for several instances, that call is what a shared bus would broadcast).
 */
export function createMembershipService({ orm }: Pick<Deps, 'orm'>) {
  const membersByConversation = new Map<number, Set<number>>();
  const versions = new Map<number, number>();
  // Loads in flight: callers that miss the cache together share one query (after a restart, the
  // first burst of sends to a conversation would otherwise each run their own).
  const loading = new Map<number, Promise<Set<number>>>();

  function load(conversationId: number): Promise<Set<number>> {
    const inFlight = loading.get(conversationId);
    if (inFlight) return inFlight;
    const version = versions.get(conversationId) ?? 0;
    const promise: Promise<Set<number>> = orm.em
      .fork()
      .find(Membership, { conversation: conversationId }, { fields: ['user'] })
      .then((rows) => {
        const members = new Set(rows.map((row) => row.user));
        // Keep the result only if no change happened while it loaded.
        if ((versions.get(conversationId) ?? 0) === version) membersByConversation.set(conversationId, members);
        return members;
      })
      .finally(() => {
        if (loading.get(conversationId) === promise) loading.delete(conversationId);
      });
    loading.set(conversationId, promise);
    return promise;
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
      loading.delete(conversationId);
    },
  };
  return service;
}

export type MembershipService = ReturnType<typeof createMembershipService>;
