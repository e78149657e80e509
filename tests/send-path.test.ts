/**
 * The path from `message.send` to a socket (issue 19): one publish per message with local inbox
 * fan-out, a plain async generator subscription that cannot leak its bus subscription, and
 * `createServer` taking every store.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../src/server/bus/memory.js';
import { topics } from '../src/server/bus/topics.js';
import type { EventBus, Topic } from '../src/server/bus/types.js';
import { createContextInner } from '../src/server/context.js';
import { applyLeanWSHandler } from '../src/server/http/ws-adapter.js';
import { createServer } from '../src/server/server.js';
import { createMemoryPresenceStore } from '../src/server/services/presence.js';
import { memoryRateLimiterBackend, type RateLimiterBackend } from '../src/server/services/rate-limits.js';
import { createMemoryTypingStore, type TypingStore } from '../src/server/services/typing.js';
import { router, subscriptionProcedure } from '../src/server/trpc.js';
import { createTestApp, nextValue, RELAXED_LIMITS, trackedData, uid, type TestApp } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A memory bus that records which keys were published to, and how. */
function recordingBus() {
  const inner = createMemoryBus();
  const published: string[] = [];
  const publishedLocally: string[] = [];
  const bus: EventBus = {
    ...inner,
    publish<E>(topic: Topic<E>, event: E) {
      published.push(topic.key);
      return inner.publish(topic, event);
    },
    publishLocal<E>(topic: Topic<E>, event: E) {
      publishedLocally.push(topic.key);
      inner.publishLocal(topic, event);
    },
  };
  return { bus, published, publishedLocally };
}

async function openApp(bus?: EventBus): Promise<TestApp> {
  const app = await createTestApp({ bus });
  cleanups.push(() => app.close());
  return app;
}

describe('publish once per message, inboxes fed locally', () => {
  it('publishes a message once on its conversation topic and hands it to the inboxes open on this instance only', async () => {
    const { bus, published, publishedLocally } = recordingBus();
    const app = await openApp(bus);
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const bobInbox = (await bob.withSignal(ac.signal).inbox.events({}))[Symbol.asyncIterator]();
    published.length = 0;

    const sent = await alice.caller.message.send({ conversationId, content: 'hello', clientMessageId: uid() });
    const { data } = trackedData<Array<{ type: string; message: { id: number }; unreadCount: number }>>(await nextValue(bobInbox));
    expect(data).toEqual([expect.objectContaining({ type: 'message', message: expect.objectContaining({ id: sent.id }), unreadCount: 1 })]);

    // One publish for the message, on the conversation's topic; none per member inbox.
    expect(published.filter((key) => key.startsWith('conversation:'))).toEqual([`conversation:${conversationId}`]);
    expect(published.filter((key) => key.startsWith('inbox:'))).toEqual([]);
    // Bob has an inbox stream here, Alice has not: only Bob's inbox is fed.
    expect(publishedLocally).toEqual([`inbox:${bob.id}`]);
  });

  it('listens to all conversation topics once per instance, and stops listening on dispose', async () => {
    const bus = createMemoryBus();
    const app = await createTestApp({ bus });
    expect(bus.listenerCount(topics.allConversations)).toBe(1);
    await app.close();
    expect(bus.listenerCount(topics.allConversations)).toBe(0);
  });
});

describe('a subscription written as a plain async generator', () => {
  it('ends on subscription.stop with its bus subscription closed (the abort signal is always given)', async () => {
    const app = await openApp();
    const alice = await app.user('alice');
    const state = { finished: 0 };
    const testRouter = router({
      plain: subscriptionProcedure.subscription(async function* ({ ctx, signal }) {
        try {
          for await (const batch of ctx.bus.subscribe(topics.inbox(ctx.user.id), { signal })) yield batch;
        } finally {
          state.finished++;
        }
      }),
    });
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const handler = applyLeanWSHandler({
      wss,
      router: testRouter,
      createContext: () => createContextInner(app.deps, { user: { id: alice.id, username: alice.username } as never, sessionId: 's' }, { kind: 'ws' }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      handler.stop();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(data.toString()));
    await new Promise((resolve) => ws.once('open', resolve));
    const inbox = topics.inbox(alice.id);

    ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'plain' } }));
    await waitFor(() => frames.some((frame) => frame.includes('"started"')));
    await waitFor(() => app.bus.listenerCount(inbox) === 1);
    ws.send(JSON.stringify({ id: 1, method: 'subscription.stop' }));
    await waitFor(() => frames.some((frame) => frame.includes('"stopped"')));
    await waitFor(() => app.bus.listenerCount(inbox) === 0, 'bus subscription closed');
    await waitFor(() => state.finished === 1, 'generator finished');
    ws.terminate();
  });
});

describe('createServer takes every store', () => {
  it('uses the typing store, presence store and rate-limit backend it is given', async () => {
    const calls = { typing: 0, presence: 0, limiters: [] as string[] };
    const memoryTyping = createMemoryTypingStore();
    const typingStore: TypingStore = {
      ...memoryTyping,
      start: (...args) => {
        calls.typing++;
        return memoryTyping.start(...args);
      },
    };
    const memoryPresence = createMemoryPresenceStore();
    const presenceStore = {
      ...memoryPresence,
      setOnline: (userId: number) => {
        calls.presence++;
        return memoryPresence.setOnline(userId);
      },
    };
    const rateLimiterBackend: RateLimiterBackend = (options) => {
      calls.limiters.push(options.keyPrefix);
      return memoryRateLimiterBackend(options);
    };
    const app = await createServer({
      config: { databasePath: ':memory:', logLevel: 'silent', seedDemo: false },
      rateLimits: RELAXED_LIMITS,
      typingStore,
      presenceStore,
      rateLimiterBackend,
    });
    cleanups.push(() => app.close());
    expect(calls.limiters.sort()).toEqual(Object.keys(RELAXED_LIMITS).sort());

    const { services } = app.deps;
    const alice = (await services.auth.register({ username: 'alice', password: 'correct horse battery' })).user;
    const bob = (await services.auth.register({ username: 'bob', password: 'correct horse battery' })).user;
    const { id: conversationId } = await services.conversations.openDirect(alice.id, bob.id);
    await services.typing.start(conversationId, alice.id);
    expect(calls.typing).toBe(1);
    const release = services.connections.add(alice.id, 'session', () => undefined);
    await waitFor(() => calls.presence === 1, 'presence store used');
    release();
  });
});

async function waitFor(check: () => boolean, what = 'condition', ms = 2_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
