import { topics } from '../bus/topics.js';
import type { TimerHandle } from '../clock.js';
import type { Deps } from './deps.js';
import { listenForTypists } from './typing-heard.js';

/**
 * Who is typing where. Ephemeral: never stored. State is per user (several tabs are one
 * typist). The in-memory store below is per process; a shared store (Redis keys with a TTL)
 * can implement the same interface for several instances.
 */
export interface TypingStore {
  /** Marks the user typing until `expiresAt` unless the last accepted call is under `minIntervalMs` old. */
  start(conversationId: number, userId: number, now: number, expiresAt: number, minIntervalMs: number): Promise<'started' | 'renewed' | 'throttled'>;
  /** Clears the state; true if the user was typing. */
  stop(conversationId: number, userId: number): Promise<boolean>;
  /** Who is typing at `now` (an entry past its expiry is not, even if no timer cleared it). */
  typists(conversationId: number, now: number): Promise<number[]>;
  conversationsOf(userId: number): Promise<number[]>;
  /** True for a store shared by several instances (every call is a network round trip). */
  readonly shared?: boolean;
}

export function createMemoryTypingStore(): TypingStore {
  const byConversation = new Map<number, Map<number, { acceptedAt: number; expiresAt: number }>>();
  const byUser = new Map<number, Set<number>>();
  return {
    async start(conversationId, userId, now, expiresAt, minIntervalMs) {
      let typists = byConversation.get(conversationId);
      if (!typists) byConversation.set(conversationId, (typists = new Map()));
      const previous = typists.get(userId);
      const current = previous && previous.expiresAt > now ? previous : undefined;
      if (current && now - current.acceptedAt < minIntervalMs) return 'throttled';
      typists.set(userId, { acceptedAt: now, expiresAt });
      let conversations = byUser.get(userId);
      if (!conversations) byUser.set(userId, (conversations = new Set()));
      conversations.add(conversationId);
      return current ? 'renewed' : 'started';
    },
    async stop(conversationId, userId) {
      const typists = byConversation.get(conversationId);
      if (!typists?.delete(userId)) return false;
      if (typists.size === 0) byConversation.delete(conversationId);
      const conversations = byUser.get(userId);
      conversations?.delete(conversationId);
      if (conversations?.size === 0) byUser.delete(userId);
      return true;
    },
    async typists(conversationId, now) {
      const typists = byConversation.get(conversationId);
      return typists ? [...typists].filter(([, state]) => state.expiresAt > now).map(([userId]) => userId) : [];
    },
    async conversationsOf(userId) {
      return [...(byUser.get(userId) ?? [])];
    },
  };
}

export function createTypingService(deps: Deps, store: TypingStore = createMemoryTypingStore()) {
  const { bus, clock, config, logger } = deps;
  const timers = new Map<string, TimerHandle>();
  // In memory a stop costs nothing; a shared store's is skipped where nobody can be typing.
  const heard = store.shared ? listenForTypists(deps) : null;
  const keyOf = (conversationId: number, userId: number) => `${conversationId}:${userId}`;

  const publish = (conversationId: number, userId: number, typing: boolean) =>
    bus.publish(topics.conversation(conversationId), { type: 'typing', conversationId, userId, typing });

  const service = {
    /** Starts or renews; a renewal within a second of the last accepted one publishes nothing. */
    async start(conversationId: number, userId: number): Promise<void> {
      const { typingTtlMs, typingRenewMinMs } = config.timings;
      const now = clock.now();
      const outcome = await store.start(conversationId, userId, now, now + typingTtlMs, typingRenewMinMs);
      if (outcome === 'throttled') return;
      const key = keyOf(conversationId, userId);
      const previous = timers.get(key);
      if (previous !== undefined) clock.clearTimeout(previous);
      // A crashed client never sends stop: the state ends by itself.
      timers.set(
        key,
        clock.setTimeout(() => service.stop(conversationId, userId).catch((error: unknown) => logger.error({ err: error }, 'typing expiry failed')), typingTtlMs),
      );
      await publish(conversationId, userId, true);
    },

    async stop(conversationId: number, userId: number): Promise<void> {
      const key = keyOf(conversationId, userId);
      const timer = timers.get(key);
      if (timer !== undefined) clock.clearTimeout(timer);
      timers.delete(key);
      if (await store.stop(conversationId, userId)) await publish(conversationId, userId, false);
    },

    /** A sent message ends its sender's typing state in that conversation, if there is one. */
    async afterSend(conversationId: number, userId: number): Promise<void> {
      if (heard && !timers.has(keyOf(conversationId, userId)) && !heard.mayBeTyping(conversationId, userId)) return;
      await service.stop(conversationId, userId);
    },

    /** Ends every typing state of a user (their last connection closed). */
    async stopAll(userId: number): Promise<void> {
      await Promise.all((await store.conversationsOf(userId)).map((conversationId) => service.stop(conversationId, userId)));
    },

    typists: (conversationId: number) => store.typists(conversationId, clock.now()),

    async dispose() {
      for (const timer of timers.values()) clock.clearTimeout(timer);
      timers.clear();
      await heard?.stop();
    },
  };
  return service;
}

export type TypingService = ReturnType<typeof createTypingService>;
