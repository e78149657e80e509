import { afterEach, beforeEach, expect, it } from 'vitest';
import { topics } from '../src/server/bus/topics.js';
import type { Topic } from '../src/server/bus/types.js';
import { storeKindOf } from '../src/server/db/driver.js';
import { INBOX_PAGE_AFTER } from '../src/server/streams/inbox.js';
import { NOTIFICATIONS_LATEST_ID, NOTIFICATIONS_PAGE_AFTER } from '../src/server/streams/notifications.js';
import { createTestApp, nextValue, trackedData, uid, type TestApp } from './helpers.js';

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(async () => {
  await app.close();
});

it('10,000 concurrent conversation subscriptions: no MaxListenersExceededWarning, no listener left after abort', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
  const controllers = Array.from({ length: 10_000 }, () => new AbortController());
  const iterators = await Promise.all(
    controllers.map(async (ac) => (await bob.withSignal(ac.signal).conversation.events({ conversationId }))[Symbol.asyncIterator]()),
  );
  expect(app.bus.listenerCount(topics.conversation(conversationId))).toBe(10_000);
  const pending = iterators.map((iterator) => nextValue(iterator, 30_000));
  const sent = await alice.caller.message.send({ conversationId, content: 'to everyone', clientMessageId: uid() });
  const received = await Promise.all(pending);
  expect(received.every((value) => trackedData<Array<{ message: { id: number } }>>(value).data[0]!.message.id === sent.id)).toBe(true);
  for (const ac of controllers) ac.abort();
  await Promise.all(iterators.map((iterator) => iterator.next()));
  expect(app.bus.listenerCount(topics.conversation(conversationId))).toBe(0);
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
});

it('fills a gap from the database when the bus dropped events (slow consumer)', async () => {
  const { createMemoryBus } = await import('../src/server/bus/memory.js');
  await app.close();
  app = await createTestApp({ bus: createMemoryBus({ maxQueue: 2 }) });
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
  const ac = new AbortController();
  const iterator = (await bob.withSignal(ac.signal).conversation.events({ conversationId }))[Symbol.asyncIterator]();
  // Nobody pulls while ten messages arrive: the queue overflows and is dropped.
  for (let i = 1; i <= 10; i++) await alice.caller.message.send({ conversationId, content: `m${i}`, clientMessageId: uid() });
  const seqs: number[] = [];
  while (seqs.length < 10) {
    for (const event of trackedData<Array<{ type: string; message: { seq: number } }>>(await nextValue(iterator)).data) {
      if (event.type === 'message') seqs.push(event.message.seq);
    }
  }
  expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  ac.abort();
});

it('resends a presence snapshot when the bus dropped changes (slow consumer)', async () => {
  const { createMemoryBus } = await import('../src/server/bus/memory.js');
  await app.close();
  app = await createTestApp({ bus: createMemoryBus({ maxQueue: 2 }) });
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  await app.converse(alice, bob);
  const ac = new AbortController();
  const watch = (await alice.withSignal(ac.signal).presence.watch({ userIds: [bob.id] }))[Symbol.asyncIterator]();
  expect(await nextValue(watch)).toEqual([{ userId: bob.id, status: 'offline', lastSeenAt: null }]);
  // Nobody reads while Bob comes online and more changes pile up: the queue of 2 is dropped.
  app.services.connections.add(bob.id, 's1', () => {});
  const stale = { userId: bob.id, status: 'offline' as const, lastSeenAt: null };
  for (let i = 0; i < 4; i++) await app.bus.publish(topics.presence(bob.id), stale);
  // What comes next is the current state, not the stale tail of the dropped queue.
  const current = await app.services.presence.snapshot([bob.id]);
  expect(current).toMatchObject([{ userId: bob.id, status: 'online' }]);
  expect(await nextValue(watch)).toEqual(current);
  ac.abort();
});

it('every stream ends at once when its iterator returns, without any signal: no listener, no waiting for an event', async () => {
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  const { id: conversationId } = await app.converse(alice, bob);
  type Stream = { topic: Topic<unknown>; open: () => Promise<AsyncIterable<unknown>> };
  const streams: Stream[] = [
    { topic: topics.conversation(conversationId), open: () => bob.caller.conversation.events({ conversationId }) },
    { topic: topics.inbox(bob.id), open: () => bob.caller.inbox.events({}) },
    { topic: topics.notifications(bob.id), open: () => bob.caller.notification.stream({}) },
    { topic: topics.presence(alice.id), open: () => bob.caller.presence.watch({ userIds: [alice.id] }) },
  ] as Stream[];
  for (const { topic, open } of streams) {
    const iterator = (await open())[Symbol.asyncIterator]();
    expect(app.bus.listenerCount(topic)).toBe(1);
    // Presence starts with its snapshot; the others wait for an event that never comes.
    if (topic.key.startsWith('presence')) await nextValue(iterator);
    const waiting = iterator.next();
    await iterator.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(app.bus.listenerCount(topic)).toBe(0);
  }
});

it('an inbox resumed from any cursor replays exactly the later messages of the conversations the user is still in, in order', async () => {
  const [alice, bob, carol] = [await app.user('alice'), await app.user('bob'), await app.user('carol')];
  const direct = await app.services.conversations.openDirect(alice.id, bob.id);
  const group = await app.services.groups.createWithMembers(alice.id, 'Team', [bob.id, carol.id]);
  const left = await app.services.groups.createWithMembers(carol.id, 'Left', [bob.id]);
  const elsewhere = await app.services.conversations.openDirect(alice.id, carol.id);
  // Interleaved, so that ids and each conversation's sequences advance at different paces.
  const plan = [direct.id, group.id, group.id, elsewhere.id, left.id, direct.id, group.id, left.id, elsewhere.id, group.id, direct.id];
  const sent: Array<{ id: number; conversationId: number }> = [];
  for (const [index, conversationId] of plan.entries()) {
    const sender = conversationId === left.id || conversationId === elsewhere.id ? carol : alice;
    sent.push(await sender.caller.message.send({ conversationId, content: `m${index}`, clientMessageId: uid() }));
  }
  await bob.caller.group.leave({ groupId: left.groupId! });
  const bobs = new Set([direct.id, group.id]);
  const ids = sent.map((message) => message.id);
  for (const cursor of [0, ...ids.slice(0, -1), ids[0]! - 1]) {
    const expected = sent.filter((message) => message.id > cursor && bobs.has(message.conversationId)).map((message) => message.id);
    if (expected.length === 0) continue;
    const ac = new AbortController();
    const iterator = (await bob.withSignal(ac.signal).inbox.events({ lastEventId: String(cursor) }))[Symbol.asyncIterator]();
    const { id, data } = trackedData<Array<{ type: string; message: { id: number } }>>(await nextValue(iterator));
    expect(data.map((event) => event.message.id), `from ${cursor}`).toEqual(expected);
    expect(id).toBe(String(expected.at(-1)));
    ac.abort();
    await iterator.return?.();
  }
  if (storeKindOf(app.orm) === 'sqlite') {
    // The scalable part: each conversation's new messages are found by (conversation, seq) from the
    // cursor, not by reading its history. SQLite's plan names the range.
    const plan = await app.orm.em.getConnection().execute<Array<{ detail: string }>>(`EXPLAIN QUERY PLAN ${INBOX_PAGE_AFTER}`, [5, 5, bob.id]);
    expect(plan.map((row) => row.detail).join(' | ')).toMatch(/SEARCH m USING INDEX \S+ \(conversation_id=\? AND seq>\?\)/);
  }
});

it('a notification stream starts from the (user, id) index: its latest id and its replay read no other notification of the user', async () => {
  if (storeKindOf(app.orm) === 'postgresql') {
    // PostgreSQL picks plans by statistics (a table this small is scanned): the index is there.
    const indexes = await app.orm.em.getConnection().execute<Array<{ indexdef: string }>>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'notifications' AND indexname = 'notifications_user_id_id_index'`,
    );
    expect(indexes.map((row) => row.indexdef)).toEqual([expect.stringMatching(/\(user_id, id\)$/)]);
    return;
  }
  const plan = async (sql: string, params: unknown[]) =>
    (await app.orm.em.getConnection().execute<Array<{ detail: string }>>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((row) => row.detail).join(' | ');
  expect(await plan(NOTIFICATIONS_LATEST_ID, [1])).toMatch(/USING COVERING INDEX notifications_user_id_id_index \(user_id=\?\)/);
  expect(await plan(NOTIFICATIONS_PAGE_AFTER, [1, 5])).toMatch(/USING INDEX notifications_user_id_id_index \(user_id=\? AND id>\?\)/);
  expect(await plan(NOTIFICATIONS_PAGE_AFTER, [1, 5])).not.toMatch(/TEMP B-TREE/);
});
