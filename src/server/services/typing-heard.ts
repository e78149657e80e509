import type { ConversationEvent } from '../../shared/events.js';
import { topics } from '../bus/topics.js';
import type { Deps } from './deps.js';

/**
 * Who this instance has heard start typing, from the typing events themselves: every instance
 * hears every conversation's events (the inbox fan-out listens to all of them, so this listener
 * shares that upstream subscription). A sent message ends its sender's typing state; with a
 * shared store that is a Redis round trip per message, and most senders were not typing (or
 * already stopped). `mayBeTyping` answers false only when this instance is sure: it heard no
 * start that is still live, and it missed nothing (after a gap, a Redis blip or an overflow, and
 * after its own start, it is unsure for one typing lifetime and says true). Starts accepted by
 * this instance are known sooner from their expiry timers (typing.ts).
 *
 * A start published on another instance a moment before the send, and not yet heard here, is
 * missed: that typing state then ends by its own expiry (6 s), and clients already clear a
 * sender's typing when its message arrives.
 */
export function listenForTypists({ bus, clock, config, logger }: Pick<Deps, 'bus' | 'clock' | 'config' | 'logger'>) {
  const lifetimeMs = config.timings.typingTtlMs;
  /** `conversationId:userId` → when the heard start expires. */
  const typing = new Map<string, number>();
  let unsureUntil = clock.now() + lifetimeMs;
  let sweptAt = clock.now();
  const keyOf = (conversationId: number, userId: number) => `${conversationId}:${userId}`;

  const hear = (event: ConversationEvent, now: number) => {
    if (event.type !== 'typing') return;
    const key = keyOf(event.conversationId, event.userId);
    if (event.typing) typing.set(key, now + lifetimeMs);
    else typing.delete(key);
  };
  // Starts whose stop was never heard (their instance died) leave once expired.
  const sweep = (now: number) => {
    if (now - sweptAt < lifetimeMs) return;
    sweptAt = now;
    for (const [key, until] of typing) if (until <= now) typing.delete(key);
  };

  const subscription = bus.subscribe(topics.allConversations, {});
  const running = (async () => {
    for await (const batch of subscription) {
      const now = clock.now();
      if (subscription.takeOverflow()) unsureUntil = now + lifetimeMs;
      for (const event of batch) hear(event, now);
      sweep(now);
    }
  })().catch((error: unknown) => logger.error({ err: error }, 'typing listener failed'));

  return {
    mayBeTyping(conversationId: number, userId: number): boolean {
      const now = clock.now();
      if (now < unsureUntil) return true;
      const until = typing.get(keyOf(conversationId, userId));
      return until !== undefined && until > now;
    },
    async stop() {
      subscription.close();
      await running;
    },
  };
}

export type TypistsHeard = ReturnType<typeof listenForTypists>;
