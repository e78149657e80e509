import type { MessageDTO } from '../../shared/dto.js';
import type { SendInput } from '../../shared/schemas.js';
import { topics } from '../bus/topics.js';
import { Conversation, Group } from '../db/entities.js';
import type { BlockService } from './blocks.js';
import type { Deps } from './deps.js';
import { forbidden, notFound } from './errors.js';
import type { MembershipService } from './membership.js';
import { createMessageWriter } from './message-writer.js';
import { createSingleFlight } from './single-flight.js';

export type MessageHooks = {
  /** Runs after a batch of new messages is committed and published (typing, notifications). */
  afterPublish?: (messages: MessageDTO[]) => void;
};

export function createMessageService(deps: Deps, membership: MembershipService, blocks: BlockService, hooks: MessageHooks = {}) {
  const { orm, bus } = deps;
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
  // A group's conversation never changes, so this mapping is safe to keep. Lookups in flight are
  // shared by the callers that miss together.
  const conversationByGroup = new Map<number, number>();
  const lookups = createSingleFlight<number, number>();

  const writer = createMessageWriter(deps, {
    async onCommitted(messages) {
      deps.metrics.messagesCommitted.inc(messages.length);
      deps.metrics.commitBatchSize.observe(messages.length);
      // Published in commit order, once per message on its conversation's topic: members'
      // inboxes are fed from there on each instance (inbox-fanout.ts). `publish` brands each event
      // as shared (bus/shared.ts), so it is serialized once for every subscriber. Awaited once
      // per batch so a failing transport is reported.
      const published = messages.map((message) => bus.publish(topics.conversation(message.conversationId), { type: 'message', message } as const));
      hooks.afterPublish?.(messages);
      noteFirstWords(messages);
      await Promise.all(published);
    },
  });

  // Senders seen writing in each direct chat (by this process): the first message of each side
  // may make the pair visible to each other's presence watches, which then re-check.
  const wroteInDirect = new Set<string>();
  function noteFirstWords(messages: readonly MessageDTO[]) {
    for (const { conversationId, senderId } of messages) {
      if (directConversations.get(conversationId) === false) continue; // a group: the common case
      const key = `${conversationId}:${senderId}`;
      if (wroteInDirect.has(key)) continue;
      wroteInDirect.add(key);
      void announceIfDirect(conversationId).catch((error: unknown) => deps.logger.error({ err: error }, 'presence re-check failed'));
    }
  }
  async function announceIfDirect(conversationId: number) {
    if (!(await isDirect(conversationId))) return;
    await blocks.announce(...(await membership.members(conversationId)));
  }

  const service = {
    writer,

    /** Stores and publishes a message; the same clientMessageId from the same sender returns the stored one. */
    async send(senderId: number, { conversationId, content, clientMessageId }: SendInput): Promise<MessageDTO> {
      await membership.assertMember(conversationId, senderId);
      await assertNotBlocked(conversationId, senderId);
      const { message } = await writer.send({ conversationId, senderId, content, clientMessageId });
      return message;
    },

    async conversationOfGroup(groupId: number): Promise<number> {
      const known = conversationByGroup.get(groupId);
      if (known !== undefined) return known;
      return lookups.run(groupId, async () => {
        const group = await orm.em.fork().findOne(Group, { id: groupId }, { fields: ['conversation'] });
        if (!group) throw notFound('Group');
        conversationByGroup.set(groupId, group.conversation);
        return group.conversation;
      });
    },

    /** `send` by group id; a group the sender is not in is NOT_FOUND, as one that does not exist. */
    async sendToGroup(
      senderId: number,
      { groupId, ...rest }: Omit<SendInput, 'conversationId'> & { groupId: number },
    ): Promise<MessageDTO> {
      const conversationId = await service.conversationOfGroup(groupId);
      if (!(await membership.isMember(conversationId, senderId))) {
        // The mapping is cached for good, but a group can be deleted: forget it then.
        if (!(await orm.em.fork().count(Group, { id: groupId }))) conversationByGroup.delete(groupId);
        throw notFound('Group');
      }
      return service.send(senderId, { conversationId, ...rest });
    },
  };
  return service;
}

export type MessageService = ReturnType<typeof createMessageService>;
