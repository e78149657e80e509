import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../src/shared/limits.js';
import type { ConversationEvent, InboxEvent } from '../src/shared/events.js';
import { createTestApp, nextValue, trackedData, uid, type TestApp } from './helpers.js';

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(async () => {
  await app.close();
});

const count = (table: string) => app.count(table);

describe('auth', () => {
  it('registers, sets an HttpOnly SameSite=Lax cookie, and resolves the session', async () => {
    const cookies: string[] = [];
    const user = await app.caller({}, cookies).auth.register({ username: 'alice', password: 'long enough pw' });
    expect(user).toEqual({ id: expect.any(Number), username: 'alice' });
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^sid=[A-Za-z0-9_-]{43};/);
    expect(cookies[0]).toContain('HttpOnly');
    expect(cookies[0]).toContain('SameSite=Lax');
    expect(cookies[0]).not.toContain('Secure');
    const token = cookies[0]!.split(';')[0]!.slice('sid='.length);
    expect((await app.services.auth.resolve(token))?.user).toEqual(user);
    // Only a hash of the token is stored.
    const rows = await app.orm.em.fork().execute<Array<{ id: string }>>('select id from sessions');
    expect(rows.map((r) => r.id)).not.toContain(token);
  });

  it('marks the cookie Secure when configured for https', async () => {
    const secure = await createTestApp({ config: { cookieSecure: true } });
    const cookies: string[] = [];
    await secure.caller({}, cookies).auth.register({ username: 'sam', password: 'long enough pw' });
    expect(cookies[0]).toContain('Secure');
    await secure.close();
  });

  it('refuses a taken username with CONFLICT and bad credentials with BAD_REQUEST', async () => {
    await app.anonymous.auth.register({ username: 'alice', password: 'long enough pw' });
    await expect(app.anonymous.auth.register({ username: 'alice', password: 'another pw 123' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(app.anonymous.auth.register({ username: 'a', password: 'long enough pw' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(app.anonymous.auth.register({ username: 'bob', password: 'short' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(app.anonymous.auth.register({ username: 'bad name!', password: 'long enough pw' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await count('users')).toBe(1);
  });

  it('logs in with the right password only', async () => {
    await app.anonymous.auth.register({ username: 'alice', password: 'long enough pw' });
    const cookies: string[] = [];
    expect(await app.caller({}, cookies).auth.login({ username: 'alice', password: 'long enough pw' })).toMatchObject({ username: 'alice' });
    expect(cookies[0]).toMatch(/^sid=/);
    await expect(app.anonymous.auth.login({ username: 'alice', password: 'wrong password' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(app.anonymous.auth.login({ username: 'nobody', password: 'long enough pw' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('me returns the user or null; logout deletes the session and clears the cookie', async () => {
    const alice = await app.user('alice');
    expect(await alice.caller.auth.me()).toEqual({ id: alice.id, username: 'alice' });
    expect(await app.anonymous.auth.me()).toBeNull();
    const resolved = (await app.services.auth.resolve(alice.token))!;
    const cookies: string[] = [];
    await app.caller({ user: resolved.user, sessionId: resolved.sessionId }, cookies).auth.logout();
    expect(cookies[0]).toMatch(/^sid=;.*Max-Age=0/);
    expect(await app.services.auth.resolve(alice.token)).toBeNull();
    await expect(app.anonymous.auth.logout()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('expires sessions', async () => {
    const short = await createTestApp({ config: { sessionTtlMs: 1 } });
    const { token } = await short.services.auth.register({ username: 'alice', password: 'long enough pw' });
    await new Promise((r) => setTimeout(r, 5));
    expect(await short.services.auth.resolve(token)).toBeNull();
    await short.close();
  });

  it('rate-limits sign-in attempts per IP with TOO_MANY_REQUESTS', async () => {
    const limited = await createTestApp({ rateLimits: { signIn: { points: 2, duration: 60 }, send: { points: 100, duration: 1 }, signal: { points: 100, duration: 1 } } });
    const creds = { username: 'alice', password: 'wrong password' };
    await expect(limited.anonymous.auth.login(creds)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(limited.anonymous.auth.login(creds)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(limited.anonymous.auth.login(creds)).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    await limited.close();
  });
});

describe('every authed procedure refuses an anonymous caller with UNAUTHORIZED', () => {
  it.each([
    ['conversation.openDirect', () => app.anonymous.conversation.openDirect({ userId: 1 })],
    ['conversation.list', () => app.anonymous.conversation.list()],
    ['conversation.history', () => app.anonymous.conversation.history({ conversationId: 1 })],
    ['message.send', () => app.anonymous.message.send({ conversationId: 1, content: 'x', clientMessageId: 'c1' })],
    ['message.group', () => app.anonymous.message.group({ groupId: 1, content: 'x', clientMessageId: 'c1' })],
    ['conversation.events', () => app.anonymous.conversation.events({ conversationId: 1 })],
    ['inbox.events', () => app.anonymous.inbox.events({})],
  ])('%s', async (_name, call) => {
    await expect(call()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('conversations and messages', () => {
  it('openDirect returns one conversation per pair, from either side', async () => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const first = await alice.caller.conversation.openDirect({ userId: bob.id });
    const again = await alice.caller.conversation.openDirect({ userId: bob.id });
    const fromBob = await bob.caller.conversation.openDirect({ userId: alice.id });
    expect(again.id).toBe(first.id);
    expect(fromBob.id).toBe(first.id);
    expect(first).toMatchObject({ kind: 'direct', groupId: null, title: 'bob', unreadCount: 0, lastMessage: null });
    expect(fromBob.title).toBe('alice');
    expect(first.members.map((m) => m.username).sort()).toEqual(['alice', 'bob']);
    expect(await count('conversations')).toBe(1);
    await expect(alice.caller.conversation.openDirect({ userId: alice.id })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(alice.caller.conversation.openDirect({ userId: 9999 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.caller.conversation.openDirect({ userId: -1 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('sends, lists with last message and unread count, and never leaks private columns', async () => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    const message = await alice.caller.message.send({ conversationId, content: '  hello  ', clientMessageId: uid() });
    expect(message).toMatchObject({ conversationId, seq: 1, senderId: alice.id, content: 'hello' });
    expect(Object.keys(message).sort()).toEqual(['clientMessageId', 'content', 'conversationId', 'createdAt', 'id', 'senderId', 'seq']);
    const [bobsView] = await bob.caller.conversation.list();
    expect(bobsView).toMatchObject({ id: conversationId, unreadCount: 1, lastMessage: { content: 'hello' } });
    const [alicesView] = await alice.caller.conversation.list();
    expect(alicesView!.unreadCount).toBe(0);
    const serialized = JSON.stringify([bobsView, alicesView, await alice.caller.auth.me()]);
    expect(serialized).not.toMatch(/passwordHash|password|scrypt|sessionId/);
  });

  it('is idempotent per (sender, clientMessageId) and refuses reuse for another message', async () => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    const clientMessageId = uid();
    const ac = new AbortController();
    const events = await bob.withSignal(ac.signal).conversation.events({ conversationId });
    const iterator = events[Symbol.asyncIterator]();
    const first = await alice.caller.message.send({ conversationId, content: 'once', clientMessageId });
    const retry = await alice.caller.message.send({ conversationId, content: 'once', clientMessageId });
    expect(retry).toEqual(first);
    await expect(alice.caller.message.send({ conversationId, content: 'other', clientMessageId })).rejects.toMatchObject({ code: 'CONFLICT' });
    // Bob's identical id is his own message.
    const bobs = await bob.caller.message.send({ conversationId, content: 'once', clientMessageId });
    expect(bobs.id).not.toBe(first.id);
    expect(await count('messages')).toBe(2);
    const published: ConversationEvent[] = [];
    while (published.length < 2) published.push(...trackedData<ConversationEvent[]>(await nextValue(iterator)).data);
    expect(published.map((e) => e.type === 'message' && e.message.id)).toEqual([first.id, bobs.id]);
    ac.abort();
  });

  it.each([
    ['empty', ''],
    ['only spaces', '    \n\t '],
    ['too long', 'x'.repeat(LIMITS.contentMax + 1)],
  ])('refuses %s content with BAD_REQUEST carrying the zod issues, storing nothing', async (_label, content) => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    const error = await alice.caller.message.send({ conversationId, content, clientMessageId: uid() }).catch((e) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await count('messages')).toBe(0);
  });

  it('accepts content of exactly the maximum length', async () => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    const message = await alice.caller.message.send({ conversationId, content: 'y'.repeat(LIMITS.contentMax), clientMessageId: uid() });
    expect(message.content).toHaveLength(LIMITS.contentMax);
  });

  it('refuses wrongly shaped input with BAD_REQUEST', async () => {
    const alice = await app.user('alice');
    const bad = [
      { conversationId: '1', content: 'x', clientMessageId: 'a' },
      { conversationId: 1.5, content: 'x', clientMessageId: 'a' },
      { conversationId: 1, content: 42, clientMessageId: 'a' },
      { conversationId: 1, content: 'x', clientMessageId: '' },
      { conversationId: 1, content: 'x', clientMessageId: 'has spaces' },
      { conversationId: 1, content: 'x' },
    ];
    for (const input of bad) {
      await expect(alice.caller.message.send(input as never)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    await expect(alice.caller.conversation.events({ conversationId: 1, lastEventId: 'abc' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('refuses non-members with FORBIDDEN on history, send and subscribe, and NOT_FOUND on group send (as for no such group)', async () => {
    const [alice, bob, eve] = [await app.user('alice'), await app.user('bob'), await app.user('eve')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    await alice.caller.message.send({ conversationId, content: 'private', clientMessageId: uid() });
    const group = await app.services.groups.createWithMembers(alice.id, 'team', [bob.id]);
    await expect(eve.caller.conversation.history({ conversationId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(eve.caller.message.send({ conversationId, content: 'hi', clientMessageId: uid() })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(eve.caller.message.group({ groupId: group.groupId!, content: 'hi', clientMessageId: uid() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(eve.caller.conversation.events({ conversationId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(eve.caller.conversation.history({ conversationId: 424242 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(eve.caller.message.group({ groupId: 424242, content: 'hi', clientMessageId: uid() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await count('messages')).toBe(1);
  });

  it('pages history newest first by sequence across several pages', async () => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    for (let i = 1; i <= 23; i++) {
      await (i % 2 ? alice : bob).caller.message.send({ conversationId, content: `m${i}`, clientMessageId: uid() });
    }
    const seen: number[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof alice.caller.conversation.history>> = await bob.caller.conversation.history({ conversationId, cursor, limit: 10 });
      seen.push(...page.messages.map((m) => m.seq));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => 23 - i));
    await expect(bob.caller.conversation.history({ conversationId, limit: LIMITS.historyPageMax + 1 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('message.group posts to the group conversation and reaches every member', async () => {
    const [alice, bob, carol] = [await app.user('alice'), await app.user('bob'), await app.user('carol')];
    const group = await app.services.groups.createWithMembers(alice.id, 'team', [bob.id, carol.id]);
    expect(group).toMatchObject({ kind: 'group', title: 'team', groupId: expect.any(Number) });
    const subscriptions = await Promise.all(
      [bob, carol].map(async (member) => {
        const ac = new AbortController();
        const stream = await member.withSignal(ac.signal).conversation.events({ conversationId: group.id });
        return { ac, iterator: stream[Symbol.asyncIterator]() };
      }),
    );
    const sent = await alice.caller.message.group({ groupId: group.groupId!, content: 'hello team', clientMessageId: uid() });
    expect(sent.conversationId).toBe(group.id);
    for (const { ac, iterator } of subscriptions) {
      const { id, data } = trackedData<ConversationEvent[]>(await nextValue(iterator));
      expect(id).toBe('1');
      expect(data).toEqual([{ type: 'message', message: sent }]);
      ac.abort();
    }
  });
});

describe('subscriptions with recovery', () => {
  it('conversation.events replays after lastEventId, then continues live without gap or duplicate', async () => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    for (let i = 1; i <= 5; i++) await alice.caller.message.send({ conversationId, content: `m${i}`, clientMessageId: uid() });
    const ac = new AbortController();
    const stream = await bob.withSignal(ac.signal).conversation.events({ conversationId, lastEventId: '2' });
    const iterator = stream[Symbol.asyncIterator]();
    // Sent while the replay is being read: must arrive once, after the replay.
    const live = alice.caller.message.send({ conversationId, content: 'm6', clientMessageId: uid() });
    const seqs: number[] = [];
    let lastId = '';
    while (seqs.length < 4) {
      const { id, data } = trackedData<ConversationEvent[]>(await nextValue(iterator));
      for (const event of data) if (event.type === 'message') seqs.push(event.message.seq);
      lastId = id;
    }
    await live;
    expect(seqs).toEqual([3, 4, 5, 6]);
    expect(lastId).toBe('6');
    ac.abort();
    expect(await iterator.next()).toMatchObject({ done: true });
  });

  it('inbox.events carries new messages of all conversations with the unread count, and replays', async () => {
    const [alice, bob, carol] = [await app.user('alice'), await app.user('bob'), await app.user('carol')];
    const direct = await alice.caller.conversation.openDirect({ userId: bob.id });
    const group = await app.services.groups.createWithMembers(carol.id, 'team', [bob.id]);
    const ac = new AbortController();
    const iterator = (await bob.withSignal(ac.signal).inbox.events({}))[Symbol.asyncIterator]();
    const m1 = await alice.caller.message.send({ conversationId: direct.id, content: 'one', clientMessageId: uid() });
    const m2 = await carol.caller.message.group({ groupId: group.groupId!, content: 'two', clientMessageId: uid() });
    const m3 = await alice.caller.message.send({ conversationId: direct.id, content: 'three', clientMessageId: uid() });
    const own = await bob.caller.message.send({ conversationId: direct.id, content: 'mine', clientMessageId: uid() });
    const events: InboxEvent[] = [];
    let lastId = '';
    while (events.length < 4) {
      const { id, data } = trackedData<InboxEvent[]>(await nextValue(iterator));
      events.push(...data);
      lastId = id;
    }
    expect(events.map((e) => e.type === 'message' && [e.message.id, e.unreadCount])).toEqual([
      [m1.id, 1],
      [m2.id, 1],
      [m3.id, 2],
      [own.id, 2],
    ]);
    expect(lastId).toBe(String(own.id));
    ac.abort();

    const replay = (await bob.caller.inbox.events({ lastEventId: String(m1.id) }))[Symbol.asyncIterator]();
    const replayed = trackedData<InboxEvent[]>(await nextValue(replay)).data;
    expect(replayed.map((e) => e.type === 'message' && e.message.id)).toEqual([m2.id, m3.id, own.id]);
    await replay.return?.();
  });
});
