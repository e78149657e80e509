import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationEvent, InboxEvent } from '../src/shared/events.js';
import type { PresenceDTO } from '../src/shared/social.js';
import { createTestApp, FakeClock, nextValue, trackedData, uid, type TestApp } from './helpers.js';

let app: TestApp;
let clock: FakeClock;
afterEach(async () => {
  await app.close();
});

async function setup(names = ['alice', 'bob']) {
  clock = new FakeClock();
  app = await createTestApp({ clock });
  return Promise.all(names.map((name) => app.user(name)));
}

/** Collects conversation events for a member until `count` arrived. */
async function events(iterator: AsyncIterator<unknown>, count: number) {
  const out: ConversationEvent[] = [];
  while (out.length < count) out.push(...trackedData<ConversationEvent[]>(await nextValue(iterator)).data);
  return out;
}

async function subscribe(member: Awaited<ReturnType<TestApp['user']>>, conversationId: number) {
  const ac = new AbortController();
  const stream = await member.withSignal(ac.signal).conversation.events({ conversationId });
  return { ac, iterator: stream[Symbol.asyncIterator]() };
}

/** Proves nothing else was queued: a marker message must be the very next event. */
async function expectNothingBefore(marker: () => Promise<{ id: number }>, iterator: AsyncIterator<unknown>) {
  const { id } = await marker();
  const [next] = await events(iterator, 1);
  expect(next).toMatchObject({ type: 'message', message: { id } });
}

describe('typing', () => {
  it('start, throttled renewals, renewal, expiry after 6 s and stop', async () => {
    const [alice, bob] = await setup();
    const { id: conversationId } = await alice!.caller.conversation.openDirect({ userId: bob!.id });
    const { ac, iterator } = await subscribe(bob!, conversationId);
    const typing = (value: boolean) => ({ type: 'typing', conversationId, userId: alice!.id, typing: value });

    await alice!.caller.typing.start({ conversationId });
    expect(await events(iterator, 1)).toEqual([typing(true)]);

    clock.advance(500);
    expect(await alice!.caller.typing.start({ conversationId })).toEqual({ ok: true }); // throttled: succeeds, publishes nothing
    await expectNothingBefore(() => app.services.messages.send(bob!.id, { conversationId, content: 'marker', clientMessageId: uid() }), iterator);

    clock.advance(600); // 1.1 s after the accepted start: a renewal
    await alice!.caller.typing.start({ conversationId });
    expect(await events(iterator, 1)).toEqual([typing(true)]);

    clock.advance(5_999);
    expect(await app.services.typing.typists(conversationId)).toEqual([alice!.id]);
    clock.advance(1); // 6 s without renewal
    expect(await events(iterator, 1)).toEqual([typing(false)]);
    expect(await app.services.typing.typists(conversationId)).toEqual([]);

    await alice!.caller.typing.start({ conversationId });
    await alice!.caller.typing.stop({ conversationId });
    expect(await events(iterator, 2)).toEqual([typing(true), typing(false)]);
    // Stopping twice publishes nothing more.
    await alice!.caller.typing.stop({ conversationId });
    await expectNothingBefore(() => app.services.messages.send(bob!.id, { conversationId, content: 'marker2', clientMessageId: uid() }), iterator);
    ac.abort();
  });

  it('a sent message clears its sender typing; the typist does not hear itself; groups by groupId', async () => {
    const [alice, bob, carol] = await setup(['alice', 'bob', 'carol']);
    const group = await app.services.groups.createWithMembers(alice!.id, 'team', [bob!.id, carol!.id]);
    const forBob = await subscribe(bob!, group.id);
    const forAlice = await subscribe(alice!, group.id);
    await alice!.caller.typing.start({ groupId: group.groupId! });
    expect(await events(forBob.iterator, 1)).toEqual([{ type: 'typing', conversationId: group.id, userId: alice!.id, typing: true }]);
    const sent = await alice!.caller.message.group({ groupId: group.groupId!, content: 'done typing', clientMessageId: uid() });
    const after = await events(forBob.iterator, 2);
    expect(after[0]).toMatchObject({ type: 'message', message: { id: sent.id } });
    expect(after[1]).toEqual({ type: 'typing', conversationId: group.id, userId: alice!.id, typing: false });
    // Alice's own stream saw only her message.
    expect(await events(forAlice.iterator, 1)).toEqual([{ type: 'message', message: sent }]);
    await expectNothingBefore(() => app.services.messages.send(bob!.id, { conversationId: group.id, content: 'marker', clientMessageId: uid() }), forAlice.iterator);
    forBob.ac.abort();
    forAlice.ac.abort();
  });

  it('a late subscriber gets the current typists first; several tabs are one typist; last connection closing stops it', async () => {
    const [alice, bob] = await setup();
    const { id: conversationId } = await alice!.caller.conversation.openDirect({ userId: bob!.id });
    const closeTab1 = app.services.connections.add(alice!.id, 'session-1', () => {});
    const closeTab2 = app.services.connections.add(alice!.id, 'session-2', () => {});
    await alice!.caller.typing.start({ conversationId });
    clock.advance(1_500);
    await alice!.caller.typing.start({ conversationId }); // the other tab renews the same state
    expect(await app.services.typing.typists(conversationId)).toEqual([alice!.id]);

    const late = await subscribe(bob!, conversationId);
    expect(await events(late.iterator, 1)).toEqual([{ type: 'typing', conversationId, userId: alice!.id, typing: true }]);
    closeTab1();
    expect(await app.services.typing.typists(conversationId)).toEqual([alice!.id]);
    closeTab2();
    expect(await events(late.iterator, 1)).toEqual([{ type: 'typing', conversationId, userId: alice!.id, typing: false }]);
    late.ac.abort();
  });

  it('refuses typing in a foreign conversation with FORBIDDEN', async () => {
    const [alice, bob, eve] = await setup(['alice', 'bob', 'eve']);
    const { id: conversationId } = await alice!.caller.conversation.openDirect({ userId: bob!.id });
    await expect(eve!.caller.typing.start({ conversationId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(eve!.caller.typing.stop({ conversationId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(eve!.caller.typing.start({} as never)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await app.services.typing.typists(conversationId)).toEqual([]);
  });
});

describe('read receipts and unread counts', () => {
  it('moves the pointer forward only; reading a message implies the earlier ones', async () => {
    const [alice, bob] = await setup();
    const { id: conversationId } = await alice!.caller.conversation.openDirect({ userId: bob!.id });
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await alice!.caller.message.send({ conversationId, content: `m${i}`, clientMessageId: uid() }));
    const forAlice = await subscribe(alice!, conversationId);

    expect(await bob!.caller.message.read({ messageId: sent[2]!.id })).toEqual({ conversationId, lastReadSeq: 3, unreadCount: 2 });
    expect(await events(forAlice.iterator, 1)).toEqual([{ type: 'read', conversationId, userId: bob!.id, lastReadSeq: 3 }]);
    // Backwards: no change, no event.
    expect(await bob!.caller.message.read({ messageId: sent[0]!.id })).toEqual({ conversationId, lastReadSeq: 3, unreadCount: 2 });
    expect(await bob!.caller.message.read({ messageId: sent[4]!.id })).toEqual({ conversationId, lastReadSeq: 5, unreadCount: 0 });
    expect(await events(forAlice.iterator, 1)).toEqual([{ type: 'read', conversationId, userId: bob!.id, lastReadSeq: 5 }]);
    const [view] = await alice!.caller.conversation.list();
    expect(view!.members.find((m) => m.id === bob!.id)?.lastReadSeq).toBe(5);
    forAlice.ac.abort();
  });

  it('counts unread across several members and reports changes on every tab of the reader', async () => {
    const [alice, bob, carol] = await setup(['alice', 'bob', 'carol']);
    const group = await app.services.groups.createWithMembers(alice!.id, 'team', [bob!.id, carol!.id]);
    const tabs = await Promise.all(
      [0, 1].map(async () => {
        const ac = new AbortController();
        return { ac, iterator: (await carol!.withSignal(ac.signal).inbox.events({}))[Symbol.asyncIterator]() };
      }),
    );
    const a1 = await alice!.caller.message.send({ conversationId: group.id, content: 'a1', clientMessageId: uid() });
    const b1 = await bob!.caller.message.send({ conversationId: group.id, content: 'b1', clientMessageId: uid() });
    await carol!.caller.message.send({ conversationId: group.id, content: 'c1', clientMessageId: uid() });
    const unreadOf = async (member: typeof alice) => (await member!.caller.conversation.list())[0]!.unreadCount;
    expect([await unreadOf(alice), await unreadOf(bob), await unreadOf(carol)]).toEqual([2, 2, 2]);

    await carol!.caller.message.read({ messageId: b1.id });
    expect(await unreadOf(carol)).toBe(0);
    for (const tab of tabs) {
      const seen: InboxEvent[] = [];
      while (seen.length < 4) seen.push(...trackedData<InboxEvent[]>(await nextValue(tab.iterator)).data);
      expect(seen.map((e) => (e.type === 'message' ? ['message', e.message.id, e.unreadCount] : [e.type, e.type === 'read' && e.unreadCount]))).toEqual([
        ['message', a1.id, 1],
        ['message', b1.id, 2],
        ['message', expect.any(Number), 2],
        ['read', 0],
      ]);
      tab.ac.abort();
    }
    await alice!.caller.message.read({ messageId: a1.id });
    expect(await unreadOf(alice)).toBe(2);
  });

  it('only members may mark read', async () => {
    const [alice, bob, eve] = await setup(['alice', 'bob', 'eve']);
    const { id: conversationId } = await alice!.caller.conversation.openDirect({ userId: bob!.id });
    const message = await alice!.caller.message.send({ conversationId, content: 'secret', clientMessageId: uid() });
    await expect(eve!.caller.message.read({ messageId: message.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(eve!.caller.message.read({ messageId: 999_999 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(app.anonymous.message.read({ messageId: message.id })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('presence', () => {
  it('counts connections per user, goes offline after the grace period and stores last seen', async () => {
    const [alice, bob] = await setup();
    await app.converse(alice!, bob!);
    const ac = new AbortController();
    const watch = (await alice!.withSignal(ac.signal).presence.watch({ userIds: [bob!.id] }))[Symbol.asyncIterator]();
    expect(await nextValue(watch)).toEqual([{ userId: bob!.id, status: 'offline', lastSeenAt: null }]);

    const tab1 = app.services.connections.add(bob!.id, 's1', () => {});
    expect(await nextValue(watch)).toEqual([{ userId: bob!.id, status: 'online', lastSeenAt: expect.any(String) }]);
    const tab2 = app.services.connections.add(bob!.id, 's2', () => {});
    tab1();
    tab2();
    clock.advance(4_000);
    // A reload within the grace period: no flicker.
    const tab3 = app.services.connections.add(bob!.id, 's3', () => {});
    clock.advance(10_000);
    tab3();
    clock.advance(4_999);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(1);
    const offline = (await nextValue(watch)) as PresenceDTO[];
    expect(offline).toEqual([{ userId: bob!.id, status: 'offline', lastSeenAt: new Date(clock.now()).toISOString() }]);
    const [snapshot] = await app.services.presence.snapshot([bob!.id]);
    expect(snapshot).toEqual({ userId: bob!.id, status: 'offline', lastSeenAt: new Date(clock.now()).toISOString() });
    ac.abort();
  });

  it('watches exactly the contacts without userIds, and leaves out users the caller may not see', async () => {
    const [alice, bob, carol, eve] = await setup(['alice', 'bob', 'carol', 'eve']);
    await app.converse(alice!, bob!);
    await app.services.groups.createWithMembers(carol!.id, 'team', [alice!.id]);
    await alice!.caller.conversation.openDirect({ userId: eve!.id }); // opened, nobody wrote: not visible
    const all = (await alice!.caller.presence.watch({}))[Symbol.asyncIterator]();
    const snapshot = (await nextValue(all)) as PresenceDTO[];
    expect(snapshot.map((p) => p.userId).sort()).toEqual([bob!.id, carol!.id].sort());
    await all.return?.();
    const firstSnapshot = async (userIds: number[]) => {
      const iterator = (await alice!.caller.presence.watch({ userIds }))[Symbol.asyncIterator]();
      const first = (await nextValue(iterator)) as PresenceDTO[];
      await iterator.return?.();
      return first.map((p) => p.userId);
    };
    // Eve (a chat opened, nobody wrote) and a user that does not exist get the same answer: left out.
    expect(await firstSnapshot([eve!.id])).toEqual([]);
    expect(await firstSnapshot([999_999])).toEqual([]);
    expect(await firstSnapshot([bob!.id, eve!.id])).toEqual([bob!.id]);
    await expect(app.anonymous.presence.watch({})).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
