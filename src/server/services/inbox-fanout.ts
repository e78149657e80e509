import type { ConversationEvent } from '../../shared/events.js';
import { topics } from '../bus/topics.js';
import type { Deps } from './deps.js';
import type { MembershipService } from './membership.js';

/**
 * Inboxes are fed locally. A committed message is published once, on its conversation's topic
 * (services/messages.ts); every instance listens to all conversation topics once
 * (`topics.allConversations`) and hands each message to the inbox topics of the conversation's
 * members that have an open inbox stream on this instance (`publishLocal`, never sent to other
 * instances). With a networked bus a message then crosses the network once per instance, not
 * once per member. The same event object travels on, so it is still serialized once.
 */
export function startInboxFanout({ bus, logger }: Pick<Deps, 'bus' | 'logger'>, membership: MembershipService) {
  const subscription = bus.subscribe(topics.allConversations, {});

  async function fanOut(event: ConversationEvent) {
    if (event.type !== 'message') return;
    const { conversationId } = event.message;
    // Batches are handled in order, one at a time: a membership read (uncached) delays later
    // messages rather than letting them overtake this one.
    const members = membership.cached(conversationId) ?? (await membership.members(conversationId));
    for (const memberId of members) {
      const inbox = topics.inbox(memberId);
      if (bus.listenerCount(inbox) > 0) bus.publishLocal(inbox, event);
    }
  }

  const running = (async () => {
    for await (const batch of subscription) {
      for (const event of batch) {
        try {
          await fanOut(event);
        } catch (error) {
          logger.error({ err: error }, 'inbox fan-out failed for one message');
        }
      }
    }
  })();

  return {
    async stop() {
      subscription.close();
      await running;
    },
  };
}

export type InboxFanout = ReturnType<typeof startInboxFanout>;
