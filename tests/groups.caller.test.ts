import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../src/shared/events.js';
import type { NotificationEvent } from '../src/shared/notifications.js';
import { createTestApp, nextValue, trackedData, uid, type TestApp } from './helpers.js';

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(async () => {
  await app.close();
});

const count = (table: string) => app.count(table);

async function users(...names: string[]) {
  const out = [];
  for (const name of names) out.push(await app.user(name));
  return out as Array<Awaited<ReturnType<TestApp['user']>>>;
}

/** Waits until a predicate holds (for work that runs after the call returns). */
async function eventually(check: () => Promise<boolean>) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition never held');
}

describe('groups', () => {
  it('runs the whole invitation lifecycle with its notifications', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const { group, invitations } = await alice!.caller.group.create({ name: 'Hikers', memberIds: [bob!.id] });
    expect(group).toMatchObject({ name: 'Hikers', ownerId: alice!.id, memberCount: 1 });
    expect(invitations).toEqual([expect.objectContaining({ groupId: group.id, status: 'pending', inviter: { id: alice!.id, username: 'alice' }, invitee: { id: bob!.id, username: 'bob' } })]);

    const bobsList = await bob!.caller.group.list();
    expect(bobsList.groups).toEqual([]);
    expect(bobsList.invitations.map((i) => i.id)).toEqual([invitations[0]!.id]);
    const bobsNotes = await bob!.caller.notification.list({});
    expect(bobsNotes.unreadCount).toBe(1);
    expect(bobsNotes.notifications[0]).toMatchObject({ type: 'group.invitation', groupId: group.id, content: { title: 'alice invited you to Hikers', actorId: alice!.id } });

    // Not a member yet: no access.
    await expect(bob!.caller.conversation.history({ conversationId: group.conversationId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(carol!.caller.group.respond({ invitationId: invitations[0]!.id, accept: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const before = await alice!.caller.message.group({ groupId: group.id, content: 'before bob', clientMessageId: uid() });
    const answer = await bob!.caller.group.respond({ invitationId: invitations[0]!.id, accept: true });
    expect(answer.invitation.status).toBe('accepted');
    expect(answer.group).toMatchObject({ id: group.id, memberCount: 2 });
    await expect(bob!.caller.group.respond({ invitationId: invitations[0]!.id, accept: true })).rejects.toMatchObject({ code: 'CONFLICT' });

    // History is visible from the start; it does not count as unread.
    const history = await bob!.caller.conversation.history({ conversationId: group.conversationId });
    expect(history.messages.map((m) => m.id)).toEqual([before.id]);
    const [view] = (await bob!.caller.conversation.list()).filter((c) => c.groupId === group.id);
    expect(view!.unreadCount).toBe(0);

    const alicesNotes = await alice!.caller.notification.list({});
    expect(alicesNotes.notifications[0]).toMatchObject({ type: 'group.invitation.accepted', groupId: group.id, content: { actorId: bob!.id } });
    expect((await bob!.caller.group.members({ groupId: group.id })).map((m) => [m.username, m.role])).toEqual([
      ['alice', 'owner'],
      ['bob', 'member'],
    ]);

    // Members may invite; a decline leaves the group unchanged.
    const toCarol = await bob!.caller.group.invite({ groupId: group.id, userId: carol!.id });
    const declined = await carol!.caller.group.respond({ invitationId: toCarol.id, accept: false });
    expect(declined).toMatchObject({ invitation: { status: 'declined' }, group: null });
    expect((await alice!.caller.group.members({ groupId: group.id })).length).toBe(2);
  });

  it('refuses duplicate invitations and inviting members with CONFLICT, strangers with NOT_FOUND (as for a group that does not exist)', async () => {
    const [alice, bob, carol, eve] = await users('alice', 'bob', 'carol', 'eve');
    const { group } = await alice!.caller.group.create({ name: 'Team' });
    await alice!.caller.group.invite({ groupId: group.id, userId: bob!.id });
    await expect(alice!.caller.group.invite({ groupId: group.id, userId: bob!.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(alice!.caller.group.invite({ groupId: group.id, userId: alice!.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(eve!.caller.group.invite({ groupId: group.id, userId: carol!.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice!.caller.group.invite({ groupId: 9999, userId: carol!.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice!.caller.group.invite({ groupId: group.id, userId: 9999 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice!.caller.group.create({ name: '   ' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(eve!.caller.group.members({ groupId: group.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await count('invitations')).toBe(1);
    expect(await count('groups')).toBe(1);
  });

  it('lets only the owner remove members; a removed member can no longer read, send or subscribe', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const conversation = await app.services.groups.createWithMembers(alice!.id, 'Team', [bob!.id, carol!.id]);
    const groupId = conversation.groupId!;
    const ac = new AbortController();
    const stream = (await bob!.withSignal(ac.signal).conversation.events({ conversationId: conversation.id }))[Symbol.asyncIterator]();
    const carolAc = new AbortController();
    const carolStream = (await carol!.withSignal(carolAc.signal).conversation.events({ conversationId: conversation.id }))[Symbol.asyncIterator]();
    const first = await alice!.caller.message.group({ groupId, content: 'hello', clientMessageId: uid() });
    expect(trackedData<ConversationEvent[]>(await nextValue(stream)).data).toEqual([{ type: 'message', message: first }]);

    await expect(bob!.caller.group.removeMember({ groupId, userId: carol!.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await alice!.caller.group.removeMember({ groupId, userId: bob!.id });
    // Bob's open subscription ends at once and delivers nothing more.
    expect(await stream.next()).toMatchObject({ done: true });
    const after = await alice!.caller.message.group({ groupId, content: 'without bob', clientMessageId: uid() });
    const carolSees: ConversationEvent[] = [];
    while (!carolSees.some((e) => e.type === 'message' && e.message.id === after.id)) carolSees.push(...trackedData<ConversationEvent[]>(await nextValue(carolStream)).data);
    expect(carolSees[0]).toMatchObject({ type: 'message', message: { id: first.id } });
    expect(carolSees).toContainEqual({ type: 'members', conversationId: conversation.id, userId: bob!.id, change: 'removed' });

    await expect(bob!.caller.conversation.history({ conversationId: conversation.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(bob!.caller.message.group({ groupId, content: 'hi', clientMessageId: uid() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(bob!.caller.conversation.events({ conversationId: conversation.id, lastEventId: '0' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // An inbox replay from before the removal carries nothing of the group any more: the first
    // thing it yields is a later direct message.
    const direct = await alice!.caller.conversation.openDirect({ userId: bob!.id });
    const dm = await alice!.caller.message.send({ conversationId: direct.id, content: 'dm', clientMessageId: uid() });
    const inbox = (await bob!.caller.inbox.events({ lastEventId: '0' }))[Symbol.asyncIterator]();
    const replayed = trackedData<Array<{ type: string; message?: { id: number } }>>(await nextValue(inbox)).data;
    expect(replayed.map((e) => e.message?.id)).toEqual([dm.id]);
    await inbox.return?.();
    // Offline notifications gather for a moment before they are written: write them now.
    await app.services.notifications.flushOffline();
    const notes = await bob!.caller.notification.list({});
    expect(notes.notifications).toContainEqual(expect.objectContaining({ type: 'group.removed', groupId }));
    // No notification about the group's messages after the removal either.
    expect(notes.notifications.filter((n) => n.type === 'message' && n.conversationId === conversation.id).map((n) => n.content.body)).toEqual(['hello']);
    await expect(alice!.caller.group.removeMember({ groupId, userId: bob!.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    carolAc.abort();
    ac.abort();
  });

  it('hands ownership to the longest-standing member when the owner leaves, and deletes the group when alone', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const { group, invitations } = await alice!.caller.group.create({ name: 'Team', memberIds: [bob!.id, carol!.id] });
    await bob!.caller.group.respond({ invitationId: invitations[0]!.id, accept: true });
    await carol!.caller.group.respond({ invitationId: invitations[1]!.id, accept: true });
    await alice!.caller.group.leave({ groupId: group.id });
    const members = await bob!.caller.group.members({ groupId: group.id });
    expect(members.map((m) => [m.username, m.role])).toEqual([
      ['bob', 'owner'],
      ['carol', 'member'],
    ]);
    expect((await bob!.caller.group.list()).groups[0]!.ownerId).toBe(bob!.id);
    await expect(alice!.caller.group.members({ groupId: group.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await carol!.caller.group.leave({ groupId: group.id });
    await bob!.caller.message.group({ groupId: group.id, content: 'last words', clientMessageId: uid() });
    expect(await bob!.caller.group.leave({ groupId: group.id })).toEqual({ deleted: true });
    expect(await count('groups')).toBe(0);
    expect(await count('conversations')).toBe(0);
    // The group is gone, not merely closed to bob: NOT_FOUND, also after a send that cached its conversation.
    await expect(bob!.caller.message.group({ groupId: group.id, content: 'anyone?', clientMessageId: uid() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice!.caller.message.group({ groupId: group.id, content: 'anyone?', clientMessageId: uid() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('notifications', () => {
  it('push is for the service identity only: FORBIDDEN for a user session, UNAUTHORIZED without one', async () => {
    const [alice, bob] = await users('alice', 'bob');
    const content = { title: 'alice liked your post', url: '/posts/7', actorId: alice!.id, data: { postId: 7 } };
    const pushed = await app.service.notification.push({ type: 'like', userId: bob!.id, content });
    expect(pushed).toMatchObject({ type: 'like', content, readAt: null });
    await expect(alice!.caller.notification.push({ type: 'like', userId: bob!.id, content })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(app.anonymous.notification.push({ type: 'like', userId: bob!.id, content })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(app.service.notification.push({ type: 'group.invitation' as never, userId: bob!.id, content })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(app.service.notification.push({ type: 'like', userId: bob!.id, content: { title: 'x'.repeat(121) } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(app.service.notification.push({ type: 'like', userId: bob!.id, content: { title: 'x', url: 'javascript:alert(1)' } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(app.service.notification.push({ type: 'like', userId: 9999, content })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await count('notifications')).toBe(1);
  });

  it('streams live, replays after lastEventId, pages, and markRead updates every tab', async () => {
    const [alice, bob] = await users('alice', 'bob');
    const push = (title: string) => app.service.notification.push({ type: 'comment', userId: bob!.id, content: { title, actorId: alice!.id } });
    const n1 = await push('one');
    const tabs = await Promise.all(
      [0, 1].map(async () => {
        const ac = new AbortController();
        return { ac, iterator: (await bob!.withSignal(ac.signal).notification.stream({}))[Symbol.asyncIterator]() };
      }),
    );
    const n2 = await push('two');
    const n3 = await push('three');
    const { unreadCount } = await bob!.caller.notification.markRead({ ids: [n2.id] });
    expect(unreadCount).toBe(2);
    for (const tab of tabs) {
      const seen: NotificationEvent[] = [];
      while (seen.length < 3) seen.push(...trackedData<NotificationEvent[]>(await nextValue(tab.iterator)).data);
      expect(seen).toEqual([
        { type: 'notification', notification: n2, unreadCount: 2 },
        { type: 'notification', notification: n3, unreadCount: 3 },
        { type: 'read', ids: [n2.id], unreadCount: 2 },
      ]);
      tab.ac.abort();
    }
    const replay = (await bob!.caller.notification.stream({ lastEventId: String(n1.id) }))[Symbol.asyncIterator]();
    const { id, data } = trackedData<NotificationEvent[]>(await nextValue(replay));
    expect(id).toBe(String(n3.id));
    expect(data.map((e) => e.type === 'notification' && e.notification.id)).toEqual([n2.id, n3.id]);
    await replay.return?.();

    const page1 = await bob!.caller.notification.list({ limit: 2 });
    expect(page1.notifications.map((n) => n.id)).toEqual([n3.id, n2.id]);
    const page2 = await bob!.caller.notification.list({ limit: 2, cursor: page1.nextCursor });
    expect(page2.notifications.map((n) => n.id)).toEqual([n1.id]);
    expect(page2.nextCursor).toBeNull();
    expect((await bob!.caller.notification.list({ unreadOnly: true })).notifications.map((n) => n.id)).toEqual([n3.id, n1.id]);
    expect(await bob!.caller.notification.markRead({ all: true })).toEqual({ unreadCount: 0 });
    // Marking someone else's notification does nothing.
    const other = await app.service.notification.push({ type: 'follow', userId: alice!.id, content: { title: 'bob follows you' } });
    await bob!.caller.notification.markRead({ ids: [other.id] });
    expect((await alice!.caller.notification.list({})).unreadCount).toBe(1);
  });

  it('creates one "new message" notification per conversation for an offline member until they read it', async () => {
    const [alice, bob] = await users('alice', 'bob');
    const { id: conversationId } = await alice!.caller.conversation.openDirect({ userId: bob!.id });
    const online = app.services.connections.add(alice!.id, 'alice-session', () => {});
    await alice!.caller.message.send({ conversationId, content: 'are you there?', clientMessageId: uid() });
    await alice!.caller.message.send({ conversationId, content: 'hello?', clientMessageId: uid() });
    await eventually(async () => (await bob!.caller.notification.list({})).notifications.length > 0);
    const notes = await bob!.caller.notification.list({});
    expect(notes.notifications).toEqual([expect.objectContaining({ type: 'message', conversationId, content: expect.objectContaining({ body: 'are you there?', actorId: alice!.id }) })]);
    // Alice is connected: she got none for Bob's reply.
    const reply = await bob!.caller.message.send({ conversationId, content: 'here', clientMessageId: uid() });
    await bob!.caller.message.read({ messageId: reply.id });
    expect((await bob!.caller.notification.list({})).unreadCount).toBe(0);
    await alice!.caller.message.send({ conversationId, content: 'new one', clientMessageId: uid() });
    await eventually(async () => (await bob!.caller.notification.list({})).notifications.length === 2);
    expect((await alice!.caller.notification.list({})).notifications).toEqual([]);
    online();
  });

  it('handles a burst to a large offline group with one notification per member and conversation', async () => {
    const [owner, ...members] = await users(...Array.from({ length: 21 }, (_, i) => `member${i}`));
    const group = await app.services.groups.createWithMembers(owner!.id, 'Crowd', members.map((m) => m.id));
    // 40 concurrent sends share group-commit batches.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => owner!.caller.message.group({ groupId: group.groupId!, content: `burst ${i}`, clientMessageId: uid() })),
    );
    await eventually(async () => (await count('notifications')) === 20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await count('notifications')).toBe(20);
    const page = await members[0]!.caller.notification.list({});
    expect(page.notifications).toHaveLength(1);
    expect(page.unreadCount).toBe(1);
  });
});
