/**
 * What a send costs the shared stores with several instances (real Redis): the typing stop is
 * skipped when no instance heard its sender start typing, and offline-notification lookups are
 * gathered. Each app is an instance on one Redis (bus, typing and presence stores), with a
 * database of its own.
 */
import type { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createRedisBus } from '../src/server/bus/redis.js';
import { topics } from '../src/server/bus/topics.js';
import type { ConversationEvent } from '../src/shared/events.js';
import { createRedisPresenceStore } from '../src/server/services/presence-redis.js';
import type { PresenceStore } from '../src/server/services/presence.js';
import { createRedisTypingStore } from '../src/server/services/typing-redis.js';
import type { TypingStore } from '../src/server/services/typing.js';
import { defaultConfig, type Config } from '../src/server/config.js';
import { createTestApp, FakeClock, uid, type TestApp } from './helpers.js';
import { openTestRedis, REDIS_URL } from './redis-helpers.js';
import { openRedis } from '../src/server/redis/client.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TYPING_TTL_MS = defaultConfig().timings.typingTtlMs;

type Instance = { app: TestApp; typingStops: () => number; presenceLookups: () => number; subscriber: Redis; subscriberId: number };

async function instances(count: number, clock: FakeClock, config: Partial<Config> = {}): Promise<Instance[]> {
  const scope = await openTestRedis();
  cleanups.push(() => scope.cleanup());
  const result: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const subscriber = await scope.open();
    // Asked before the bus puts it in subscriber mode, where CLIENT is refused.
    const subscriberId = Number(await subscriber.client('ID'));
    const bus = createRedisBus({ publisher: await scope.open(), subscriber, channelPrefix: scope.prefix });
    let typingStops = 0;
    let presenceLookups = 0;
    const typing = createRedisTypingStore(await scope.open());
    const typingStore: TypingStore = { ...typing, stop: (...args) => (typingStops++, typing.stop(...args)) };
    const presence = createRedisPresenceStore(await scope.open(), clock);
    const presenceStore: PresenceStore = { ...presence, onlineAmong: (ids) => (presenceLookups++, presence.onlineAmong(ids)) };
    const app = await createTestApp({ bus, clock, typingStore, presenceStore, config });
    await bus.whenListening!(topics.allConversations);
    cleanups.push(() => app.close());
    result.push({ app, typingStops: () => typingStops, presenceLookups: () => presenceLookups, subscriber, subscriberId });
  }
  return result;
}

/** Resolves with the next typing event of the conversation that `app` hears. */
function nextTyping(app: TestApp, conversationId: number) {
  const subscription = app.bus.subscribe(topics.conversation(conversationId), {});
  return (async () => {
    for await (const batch of subscription) {
      const event = (batch as ConversationEvent[]).find((e) => e.type === 'typing');
      if (event) {
        subscription.close();
        // The instance's own listener got the same batch; let it run.
        await new Promise((resolve) => setTimeout(resolve, 20));
        return event;
      }
    }
  })();
}

async function pair(app: TestApp) {
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  const conversation = await app.services.conversations.openDirect(alice.id, bob.id);
  const send = (content: string) => app.services.messages.send(alice.id, { conversationId: conversation.id, content, clientMessageId: uid('m') });
  return { alice, bob, conversation, send };
}

it("a send asks the shared typing store to stop only when its sender may be typing, even when the start was heard from another instance", async () => {
  const clock = new FakeClock();
  const [a, b] = await instances(2, clock);
  // Past the first typing lifetime, during which a new instance cannot know who types.
  clock.advance(TYPING_TTL_MS + 1);
  const { alice, conversation, send } = await pair(b!.app);

  await send('not typing');
  // alice starts typing through the other instance; b hears it over Redis.
  const heard = nextTyping(b!.app, conversation.id);
  await a!.app.services.typing.start(conversation.id, alice.id);
  expect(await heard).toMatchObject({ typing: true, userId: alice.id });
  const stopped = nextTyping(b!.app, conversation.id);
  await send('was typing');
  expect(await stopped).toMatchObject({ typing: false, userId: alice.id });
  expect(await b!.app.services.typing.typists(conversation.id)).toEqual([]);

  await send('stopped typing');
  await b!.app.services.messages.writer.idle();
  // Only the send that followed a heard start asked the store.
  expect(b!.typingStops()).toBe(1);
});

it('after its Redis subscription dropped, an instance asks the store on every send for one typing lifetime', async () => {
  const clock = new FakeClock();
  const [b] = await instances(1, clock);
  clock.advance(TYPING_TTL_MS + 1);
  const { send } = await pair(b!.app);
  await send('one');
  await b!.app.services.messages.writer.idle();
  expect(b!.typingStops()).toBe(0);

  // Redis cuts the instance's subscriber connection: what was published meanwhile was not heard.
  const admin = await openRedis({ url: REDIS_URL });
  cleanups.push(async () => void admin.disconnect());
  const resynced = new Promise((resolve) => b!.subscriber.once('ready', resolve));
  expect(await admin.client('KILL', 'ID', b!.subscriberId)).toBe(1);
  await resynced;
  await b!.app.bus.whenListening!(topics.allConversations);
  await new Promise((resolve) => setTimeout(resolve, 50));

  await send('two');
  await b!.app.services.messages.writer.idle();
  expect(b!.typingStops()).toBe(1);
  clock.advance(TYPING_TTL_MS + 1);
  await send('three');
  await b!.app.services.messages.writer.idle();
  expect(b!.typingStops()).toBe(1);
});

it('offline notifications of many sends are gathered into one presence lookup and one notification per member and conversation', async () => {
  const clock = new FakeClock();
  // A long gathering, flushed by hand: the test decides when the gathering ends.
  const [b] = await instances(1, clock, { timings: { ...defaultConfig().timings, offlineNoticeGatherMs: 60_000 } });
  const { bob, conversation, send } = await pair(b!.app);
  for (let i = 0; i < 10; i++) await send(`m${i}`);
  await b!.app.services.messages.writer.idle();
  expect(b!.presenceLookups()).toBe(0);
  await b!.app.services.notifications.flushOffline();
  expect(b!.presenceLookups()).toBe(1);
  const page = await b!.app.services.notifications.list(bob.id, { limit: 50, unreadOnly: false });
  const forConversation = page.notifications.filter((item) => item.type === 'message' && item.conversationId === conversation.id);
  expect(forConversation).toHaveLength(1);
  expect(forConversation[0]!.content.body).toBe('m0');
});
