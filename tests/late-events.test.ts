import { afterEach, expect, it } from 'vitest';
import { createMemoryBus } from '../src/server/bus/memory.js';
import { RECENT_POSITIONS } from '../src/server/streams/replay.js';
import type { EventBus, Topic } from '../src/server/bus/types.js';
import { createTestApp, nextValue, trackedData, uid, type TestApp } from './helpers.js';

/**
 * Two instances publish independently: id 100 committed on A can reach a subscriber after id
 * 101 committed on B. A bus that holds back the publication of one chosen message until the next
 * one went out forces that order here, deterministically.
 */
function reorderingBus(holdBack: (event: unknown) => boolean, releasedBy: (event: unknown) => boolean, inner = createMemoryBus()): EventBus {
  let held: Array<() => void> = [];
  return {
    ...inner,
    mayReorder: true,
    publish<E>(topic: Topic<E>, event: E) {
      if (holdBack(event)) {
        held.push(() => void inner.publish(topic, event));
        return Promise.resolve();
      }
      if (!releasedBy(event)) return inner.publish(topic, event);
      const late = held;
      held = [];
      return inner.publish(topic, event).then(() => late.forEach((publish) => publish()));
    },
  };
}

type InboxMessage = { type: 'message'; message: { id: number; content: string } };

let app: TestApp;
afterEach(async () => {
  await app.close();
});

const contentOf = (event: unknown) => (event as { message?: { content?: string } }).message?.content;

/**
 * Alice and Bob in a direct chat and Bob's inbox open, on a bus that holds back the message whose
 * content is `held` until the one whose content is `releasedBy` went out (for good if null).
 */
async function bobsInbox(held: string, releasedBy: string | null, inner = createMemoryBus()) {
  app = await createTestApp({ bus: reorderingBus((event) => contentOf(event) === held, (event) => releasedBy !== null && contentOf(event) === releasedBy, inner) });
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
  const inbox = (await bob.caller.inbox.events({}))[Symbol.asyncIterator]();
  return { alice, bob, conversationId, inbox };
}

it('inbox.events delivers a message published after a newer one, once, and a resume re-sends it within the late window', async () => {
  const { alice, bob, conversationId, inbox } = await bobsInbox('late', 'next');

  const late = await alice.caller.message.send({ conversationId, content: 'late', clientMessageId: uid() });
  const next = await alice.caller.message.send({ conversationId, content: 'next', clientMessageId: uid() });
  const received: Array<{ id: string; data: InboxMessage[] }> = [];
  while (received.flatMap((batch) => batch.data).length < 2) received.push(trackedData<InboxMessage[]>(await nextValue(inbox)));
  const ids = received.flatMap((batch) => batch.data.map((event) => event.message.id));
  // Newer first (the forced order), the late one still delivered, each once; the cursor never goes back.
  expect(ids).toEqual([next.id, late.id]);
  expect(received.at(-1)!.id).toBe(String(next.id));
  await alice.caller.message.send({ conversationId, content: 'after', clientMessageId: uid() });
  const after = trackedData<InboxMessage[]>(await nextValue(inbox));
  expect(after.data.map((event) => event.message.content)).toEqual(['after']);
  await inbox.return?.();

  // A client that disconnected after seeing `next` but before `late` arrived: resuming from
  // `next` re-sends what is recent at or below the cursor (it deduplicates by id), then what follows.
  const resumed = (await bob.caller.inbox.events({ lastEventId: String(next.id) }))[Symbol.asyncIterator]();
  const replayed: number[] = [];
  while (!replayed.includes(after.data[0]!.message.id)) replayed.push(...trackedData<InboxMessage[]>(await nextValue(resumed)).data.map((event) => event.message.id));
  expect(replayed).toContain(late.id);
  expect(new Set(replayed).size).toBe(replayed.length);
  await resumed.return?.();
});

it('inbox.events counts a late message in the unread count, once, and a read after it counts from there', async () => {
  const { alice, bob, conversationId, inbox } = await bobsInbox('late', 'next');
  type Counted = { type: string; message?: { id: number }; unreadCount: number };
  const events: Counted[] = [];
  const until = async (count: number) => {
    while (events.length < count) events.push(...trackedData<Counted[]>(await nextValue(inbox)).data);
  };
  await alice.caller.message.send({ conversationId, content: 'late', clientMessageId: uid() });
  const next = await alice.caller.message.send({ conversationId, content: 'next', clientMessageId: uid() });
  await until(2);
  // Newer first (the forced order); the late one still adds one: bob has read neither.
  expect(events.map((event) => event.unreadCount)).toEqual([1, 2]);
  // Bob's own message counts nothing, in order or not.
  await bob.caller.message.send({ conversationId, content: 'mine', clientMessageId: uid() });
  await until(3);
  expect(events[2]!.unreadCount).toBe(2);
  await bob.caller.message.read({ messageId: next.id });
  await until(4);
  expect(events[3]).toMatchObject({ type: 'read', unreadCount: 0 });
  await alice.caller.message.send({ conversationId, content: 'after', clientMessageId: uid() });
  await until(5);
  expect(events[4]!.unreadCount).toBe(1);
  await inbox.return?.();
});

it('inbox.events delivers a late message once even when more newer ones than it remembers went before it (a burst from several instances)', async () => {
  const { alice, conversationId, inbox } = await bobsInbox('late', 'release');
  const late = await alice.caller.message.send({ conversationId, content: 'late', clientMessageId: uid() });
  const newer: number[] = [];
  for (let i = 0; i < RECENT_POSITIONS + 10; i++) newer.push((await alice.caller.message.send({ conversationId, content: `newer ${i}`, clientMessageId: uid() })).id);
  const release = await alice.caller.message.send({ conversationId, content: 'release', clientMessageId: uid() });
  const expected = [...newer, release.id, late.id];
  const received: number[] = [];
  while (!received.includes(late.id) || received.length < expected.length) {
    received.push(...trackedData<InboxMessage[]>(await nextValue(inbox)).data.map((event) => event.message.id));
  }
  // Every message once, the late one included (from the database, or live: whichever came first).
  expect([...received].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
  // And nothing more: the late publication, when it arrives, is not delivered a second time.
  await alice.caller.message.send({ conversationId, content: 'after', clientMessageId: uid() });
  expect(trackedData<InboxMessage[]>(await nextValue(inbox)).data.map((event) => event.message.content)).toEqual(['after']);
  await inbox.return?.();
});

it('inbox.events: when the bus drops events after a newer one was delivered, the resynchronisation also reads the older one never delivered', async () => {
  const inner = createMemoryBus();
  // 'lost' is held back for good: its publication was dropped, as by a Redis reconnect.
  const { alice, conversationId, inbox } = await bobsInbox('lost', null, inner);
  const lost = await alice.caller.message.send({ conversationId, content: 'lost', clientMessageId: uid() });
  const next = await alice.caller.message.send({ conversationId, content: 'next', clientMessageId: uid() });
  expect(trackedData<InboxMessage[]>(await nextValue(inbox)).data.map((event) => event.message.id)).toEqual([next.id]);
  inner.markAllBehind();
  const resynced = trackedData<InboxMessage[]>(await nextValue(inbox));
  expect(resynced.data.map((event) => event.message.id)).toEqual([lost.id]);
  expect(resynced.id).toBe(String(next.id));
  await inbox.return?.();
});

it('on the in-process bus a resume replays only after its cursor (no late window)', async () => {
  app = await createTestApp();
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
  const first = await alice.caller.message.send({ conversationId, content: 'one', clientMessageId: uid() });
  await alice.caller.message.send({ conversationId, content: 'two', clientMessageId: uid() });
  const resumed = (await bob.caller.inbox.events({ lastEventId: String(first.id) }))[Symbol.asyncIterator]();
  expect(trackedData<InboxMessage[]>(await nextValue(resumed)).data.map((event) => event.message.content)).toEqual(['two']);
  await resumed.return?.();
});

it('notification.stream delivers a notification published after a newer one, once', async () => {
  const title = (event: unknown) => (event as { notification?: { content?: { title?: string } } }).notification?.content?.title;
  app = await createTestApp({ bus: reorderingBus((event) => title(event) === 'late', (event) => title(event) === 'next') });
  const bob = await app.user('bob');
  const stream = (await bob.caller.notification.stream({}))[Symbol.asyncIterator]();
  const push = (title: string) => app.service.notification.push({ userId: bob.id, type: 'system', content: { title } });
  await push('late');
  await push('next');
  const titles: string[] = [];
  while (titles.length < 2) {
    for (const event of trackedData<Array<{ type: string; notification?: { content: { title: string } } }>>(await nextValue(stream)).data) {
      if (event.type === 'notification') titles.push(event.notification!.content.title);
    }
  }
  expect(titles).toEqual(['next', 'late']);
  await stream.return?.();
});
