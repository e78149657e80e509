import type { MessageDTO } from '../../shared/dto.js';
import { Conversation } from '../db/entities.js';
import type { BlockService } from './blocks.js';
import type { Deps } from './deps.js';
import { forbidden } from './errors.js';
import type { MembershipService } from './membership.js';

/**
 * What a direct chat adds to sending: a blocked user cannot write to the blocker there, and the
 * first words of each side may make the pair visible to each other's presence watches.
 */
export function createDirectChatRules({ orm, logger }: Deps, membership: MembershipService, blocks: BlockService) {
  // A conversation's kind never changes.
  const directConversations = new Map<number, boolean>();

  async function isDirect(conversationId: number): Promise<boolean> {
    let direct = directConversations.get(conversationId);
    if (direct === undefined) {
      const conversation = await orm.em.fork().findOne(Conversation, { id: conversationId }, { fields: ['kind'] });
      directConversations.set(conversationId, (direct = conversation?.kind === 'direct'));
    }
    return direct;
  }

  /** A blocked user cannot write to the blocker in their direct chat (groups they share are not affected). */
  async function assertNotBlocked(conversationId: number, senderId: number): Promise<void> {
    const cached = blocks.blockersOf(senderId);
    const blockers = cached instanceof Promise ? await cached : cached;
    if (blockers.size === 0) return; // the common case: one map lookup
    const members = membership.cached(conversationId) ?? (await membership.members(conversationId));
    for (const blocker of blockers) {
      if (members.has(blocker) && (await isDirect(conversationId))) throw forbidden('You cannot send to this conversation');
    }
  }

  // Senders seen writing in each direct chat (by this process): the first message of each side
  // may make the pair visible to each other's presence watches, which then re-check.
  const wroteInDirect = new Set<string>();
  function noteFirstWords(messages: readonly MessageDTO[]) {
    for (const { conversationId, senderId } of messages) {
      if (directConversations.get(conversationId) === false) continue; // a group: the common case
      const key = `${conversationId}:${senderId}`;
      if (wroteInDirect.has(key)) continue;
      wroteInDirect.add(key);
      void announceIfDirect(conversationId).catch((error: unknown) => logger.error({ err: error }, 'presence re-check failed'));
    }
  }
  async function announceIfDirect(conversationId: number) {
    if (!(await isDirect(conversationId))) return;
    await blocks.announce(...(await membership.members(conversationId)));
  }

  return { assertNotBlocked, noteFirstWords };
}
