import type { MessageDTO } from '../../shared/dto.js';
import type { SendInput } from '../../shared/schemas.js';
import { topics } from '../bus/topics.js';
import { Group } from '../db/entities.js';
import type { BlockService } from './blocks.js';
import { createDirectChatRules } from './direct-chats.js';
import type { Deps } from './deps.js';
import { notFound } from './errors.js';
import type { MembershipService } from './membership.js';
import { createMessageWriter } from './message-writer.js';
import { createSingleFlight } from './single-flight.js';

export type MessageHooks = {
  /** Runs after a batch of new messages is committed and published (typing, notifications). */
  afterPublish?: (messages: MessageDTO[]) => void;
};

export function createMessageService(deps: Deps, membership: MembershipService, blocks: BlockService, hooks: MessageHooks = {}) {
  const { orm, bus } = deps;
  const directChats = createDirectChatRules(deps, membership, blocks);
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
      directChats.noteFirstWords(messages);
      await Promise.all(published);
    },
  });

  const service = {
    writer,

    /** Stores and publishes a message; the same clientMessageId from the same sender returns the stored one. */
    async send(senderId: number, { conversationId, content, clientMessageId }: SendInput): Promise<MessageDTO> {
      await membership.assertMember(conversationId, senderId);
      await directChats.assertNotBlocked(conversationId, senderId);
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
