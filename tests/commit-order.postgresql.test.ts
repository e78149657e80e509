/**
 * Streams tracked by a global id (`inbox.events` by message id, `notification.stream` by
 * notification id) with two writers on one PostgreSQL database (two apps on one schema, as two
 * processes): a writer whose transaction stays open holds back every later insert of that table,
 * so a higher id never becomes visible before a lower one, and resuming after an id never skips a
 * late commit (db/commit-order.ts).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { InboxEvent } from '../src/shared/events.js';
import type { NotificationEvent } from '../src/shared/notifications.js';
import { lockCommitOrder } from '../src/server/db/commit-order.js';
import { Message, Notification } from '../src/server/db/entities.js';
import { inTransaction } from '../src/server/db/transactions.js';
import { insertReturningIds } from '../src/server/db/writes.js';
import { messageStoreFor } from '../src/server/services/message-store/index.js';
import { createTestApp, nextValue, trackedData, uid, type TestApp } from './helpers.js';
import { waitFor } from './socket-helpers.js';
import { freshStoreConfig } from './store.js';

let slow: TestApp;
let other: TestApp;
beforeEach(async () => {
  const store = freshStoreConfig();
  slow = await createTestApp({ store });
  other = await createTestApp({ store });
});
afterEach(async () => {
  await other.close();
  await slow.close();
});

/** Transactions of this database waiting for an advisory lock (the other writer, held back). */
async function waitingWriters(app: TestApp): Promise<number> {
  const [row] = await app.orm.em.fork().execute<Array<{ n: string }>>(
    `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return Number(row!.n);
}

/** Opens a transaction on `app` that inserts through `insert` and stays open until `release()`. */
function holdOpen(app: TestApp, insert: (tx: Parameters<Parameters<typeof inTransaction>[1]>[0]) => Promise<number>) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let insertedId = 0;
  const done = inTransaction(app.orm, async (tx) => {
    insertedId = await insert(tx);
    await gate;
  });
  return { release, done, id: () => insertedId };
}

it('inbox.events: a message committed late with the lower id is replayed after a resume, both rows once', async () => {
  const alice = await other.user('alice');
  const bob = await other.user('bob');
  const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
  const before = await alice.caller.message.send({ conversationId, content: 'before', clientMessageId: uid() });

  // A batch of the slow writer, stopped between its INSERT and its COMMIT.
  const store = messageStoreFor(slow.orm);
  const late = holdOpen(slow, async (tx) => {
    const [appended] = await store.append(tx, [{ conversationId, senderId: alice.id, content: 'late', clientMessageId: uid() }], new Date());
    return appended!.id;
  });
  await waitFor(() => late.id() > 0, 10_000, 'the late insert');
  const meanwhile = alice.caller.message.send({ conversationId, content: 'meanwhile', clientMessageId: uid() });
  await waitFor(async () => (await waitingWriters(other)) > 0, 10_000, 'the second writer to wait');
  // Nothing after the cursor is visible yet: not the late row, and not a higher id either.
  expect(await other.orm.em.fork().find(Message, { id: { $gt: before.id } })).toEqual([]);

  late.release();
  await late.done;
  const sent = await meanwhile;
  expect(sent.id).toBeGreaterThan(late.id());
  expect(sent.seq).toBe(before.seq + 2);

  const controller = new AbortController();
  const stream = (await bob.withSignal(controller.signal).inbox.events({ lastEventId: String(before.id) }))[Symbol.asyncIterator]();
  const seen: number[] = [];
  while (seen.length < 2) {
    const { data } = trackedData<InboxEvent[]>(await nextValue(stream));
    for (const event of data) if (event.type === 'message') seen.push(event.message.id);
  }
  expect(seen).toEqual([late.id(), sent.id]);
  // Live after the replay, with nothing delivered twice.
  const next = await alice.caller.message.send({ conversationId, content: 'next', clientMessageId: uid() });
  const { data } = trackedData<InboxEvent[]>(await nextValue(stream));
  expect(data.flatMap((event) => (event.type === 'message' ? [event.message.id] : []))).toEqual([next.id]);
  controller.abort();
});

it('a batch that waited for the lock numbers its messages after the batch it waited for, on its first statement', async () => {
  const alice = await other.user('alice');
  const bob = await other.user('bob');
  const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
  const first = await alice.caller.message.send({ conversationId, content: 'first', clientMessageId: uid() });
  const slowStore = messageStoreFor(slow.orm);
  const late = holdOpen(slow, async (tx) => {
    const appended = await slowStore.append(tx, [1, 2].map((n) => ({ conversationId, senderId: alice.id, content: `late ${n}`, clientMessageId: uid() })), new Date());
    return appended[1]!.id;
  });
  await waitFor(() => late.id() > 0, 10_000, 'the late insert');
  // Straight to the other process's store, without the writer's retry: a read of the last seq
  // made before the lock was granted would collide with the late rows and fail here.
  const otherStore = messageStoreFor(other.orm);
  const waiting = otherStore.runBatch(
    (tx) => otherStore.append(tx, ['a', 'b', 'c'].map((n) => ({ conversationId, senderId: bob.id, content: `waiting ${n}`, clientMessageId: uid() })), new Date()),
    { lookUpRetries: false },
  );
  await waitFor(async () => (await waitingWriters(other)) > 0, 10_000, 'the second writer to wait');
  late.release();
  await late.done;
  const appended = await waiting;
  expect(appended.map((row) => row.seq)).toEqual([first.seq + 3, first.seq + 4, first.seq + 5]);
  expect(appended[0]!.id).toBeGreaterThan(late.id());
  expect(appended.map((row) => row.id)).toEqual(appended.map((row) => row.id).sort((a, b) => a - b));
  const stored = await other.orm.em.fork().find(Message, { conversation: conversationId }, { orderBy: { seq: 'asc' } });
  expect(stored.map((message) => [message.seq, message.content])).toEqual([
    [first.seq, 'first'],
    [first.seq + 1, 'late 1'],
    [first.seq + 2, 'late 2'],
    [first.seq + 3, 'waiting a'],
    [first.seq + 4, 'waiting b'],
    [first.seq + 5, 'waiting c'],
  ]);
});

it('notification.stream: a notification committed late with the lower id is replayed after a resume, both once', async () => {
  const bob = await other.user('bob');
  const late = holdOpen(slow, async (tx) => {
    await lockCommitOrder(tx, Notification);
    const [id] = await insertReturningIds(tx, Notification, [
      { user: bob.id, type: 'like', content: { title: 'late' }, conversationId: null, groupId: null, createdAt: new Date(), readAt: null },
    ]);
    return id!;
  });
  await waitFor(() => late.id() > 0, 10_000, 'the late insert');
  const meanwhile = other.service.notification.push({ type: 'like', userId: bob.id, content: { title: 'meanwhile' } });
  await waitFor(async () => (await waitingWriters(other)) > 0, 10_000, 'the second writer to wait');
  expect(await other.orm.em.fork().find(Notification, { user: bob.id })).toEqual([]);

  late.release();
  await late.done;
  const pushed = await meanwhile;
  expect(pushed.id).toBeGreaterThan(late.id());

  const controller = new AbortController();
  const stream = (await bob.withSignal(controller.signal).notification.stream({ lastEventId: '0' }))[Symbol.asyncIterator]();
  const seen: number[] = [];
  while (seen.length < 2) {
    const { data } = trackedData<NotificationEvent[]>(await nextValue(stream));
    for (const event of data) if (event.type === 'notification') seen.push(event.notification.id);
  }
  expect(seen).toEqual([late.id(), pushed.id]);
  const next = await other.service.notification.push({ type: 'like', userId: bob.id, content: { title: 'next' } });
  const { data } = trackedData<NotificationEvent[]>(await nextValue(stream));
  expect(data.flatMap((event) => (event.type === 'notification' ? [event.notification.id] : []))).toEqual([next.id]);
  controller.abort();
});
