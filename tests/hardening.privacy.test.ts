import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../src/shared/events.js';
import { LIMITS } from '../src/shared/limits.js';
import type { PresenceDTO } from '../src/shared/social.js';
import { DEFAULT_RATE_LIMITS } from '../src/server/services/rate-limits.js';
import { createTestApp, nextValue, RELAXED_LIMITS, trackedData, uid, type TestApp } from './helpers.js';

let app: TestApp;
afterEach(async () => {
  await app.close();
});

async function watchAll(member: Awaited<ReturnType<TestApp['user']>>, userIds?: number[]) {
  const ac = new AbortController();
  const iterator = (await member.withSignal(ac.signal).presence.watch({ userIds }))[Symbol.asyncIterator]();
  const snapshot = (await nextValue(iterator)) as PresenceDTO[];
  return { ac, iterator, visible: snapshot.map((p) => p.userId).sort() };
}

describe('presence is visible only to users who share a group, or a conversation where both wrote', () => {
  it('opening a direct chat with anyone shows nothing; once both wrote, an open watch shows the other', async () => {
    app = await createTestApp();
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    const watch = await watchAll(alice, [bob.id]);
    expect(watch.visible).toEqual([]);
    await alice.caller.message.send({ conversationId, content: 'hello?', clientMessageId: uid() });
    expect((await watchAll(alice, [bob.id])).visible).toEqual([]);
    await bob.caller.message.send({ conversationId, content: 'hi', clientMessageId: uid() });
    // The open watch re-checks when the pair becomes visible: Bob's current state arrives.
    expect(await nextValue(watch.iterator)).toEqual([{ userId: bob.id, status: 'offline', lastSeenAt: null }]);
    watch.ac.abort();
  });

  it('an open watch stops covering a former co-member at once after removal from the group', async () => {
    app = await createTestApp();
    const [alice, bob, carol] = [await app.user('alice'), await app.user('bob'), await app.user('carol')];
    await app.converse(alice, bob); // Alice stays visible to Bob through their chat
    const group = await app.services.groups.createWithMembers(alice.id, 'team', [bob.id, carol.id]);
    const watch = await watchAll(bob);
    expect(watch.visible).toEqual([alice.id, carol.id].sort());
    await alice.caller.group.removeMember({ groupId: group.groupId!, userId: bob.id });
    // Carol, then Alice, come online: Bob's open watch no longer carries Carol.
    app.services.connections.add(carol.id, 'carol-session', () => {});
    app.services.connections.add(alice.id, 'alice-session', () => {});
    const seen: number[] = [];
    while (!seen.includes(alice.id)) seen.push(...((await nextValue(watch.iterator)) as PresenceDTO[]).map((p) => p.userId));
    expect(seen).toEqual([alice.id]);
    watch.ac.abort();
  });
});

describe('blocking', () => {
  it('is silent and total for the blocked user: no direct chat, no message, no invitation, not found by search, no presence, no typing', async () => {
    app = await createTestApp();
    const [alice, mallory] = [await app.user('alice'), await app.user('mallory')];
    const direct = await app.converse(alice, mallory);
    const group = await app.services.groups.createWithMembers(mallory.id, 'shared', [alice.id]);
    const ac = new AbortController();
    const events = (await mallory.withSignal(ac.signal).conversation.events({ conversationId: group.id }))[Symbol.asyncIterator]();
    const presence = await watchAll(mallory);
    expect(presence.visible).toEqual([alice.id]);

    expect(await alice.caller.user.block({ userId: mallory.id })).toEqual({ ok: true });
    expect(await alice.caller.user.block({ userId: mallory.id })).toEqual({ ok: true }); // idempotent
    expect(await alice.caller.user.blocked()).toEqual([{ id: mallory.id, username: 'mallory' }]);

    await expect(mallory.caller.message.send({ conversationId: direct.id, content: 'hey', clientMessageId: uid() })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(mallory.caller.conversation.openDirect({ userId: alice.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const other = await app.services.groups.createWithMembers(mallory.id, 'other', []);
    await expect(mallory.caller.group.invite({ groupId: other.groupId!, userId: alice.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(mallory.caller.group.create({ name: 'trap', memberIds: [alice.id] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await mallory.caller.user.search({ query: 'ali' })).toEqual([]);
    expect((await watchAll(mallory, [alice.id])).visible).toEqual([]);

    // Alice types in the shared group: Mallory's open stream does not show it; a message does arrive.
    await alice.caller.typing.start({ groupId: group.groupId! });
    const marker = await alice.caller.message.group({ groupId: group.groupId!, content: 'marker', clientMessageId: uid() });
    const seen = trackedData<ConversationEvent[]>(await nextValue(events)).data;
    expect(seen.filter((e) => e.type === 'typing')).toEqual([]);
    expect(seen).toContainEqual({ type: 'message', message: marker });
    // The open presence watch dropped Alice: her next change is not delivered, the next of nobody.
    expect(await app.services.presence.contactsOf(mallory.id)).toEqual([]);
    // Alice is not hurt by it: she still sees the group and can write in it.
    await expect(alice.caller.message.group({ groupId: group.groupId!, content: 'still here', clientMessageId: uid() })).resolves.toBeDefined();
    // Nothing told Mallory: blocking created no notification.
    const { notifications } = await mallory.caller.notification.list({});
    expect(notifications.filter((notification) => notification.type !== 'message')).toEqual([]);

    await alice.caller.user.unblock({ userId: mallory.id });
    await expect(mallory.caller.message.send({ conversationId: direct.id, content: 'sorry', clientMessageId: uid() })).resolves.toBeDefined();
    ac.abort();
    presence.ac.abort();
  });
});

describe('limits on social spam', () => {
  it(`300 group.create inviting one stranger: at most ${LIMITS.pendingInvitationsPerInvitee} pending invitations and notifications, the rest refused`, async () => {
    app = await createTestApp({ rateLimits: { ...RELAXED_LIMITS, groupCreate: DEFAULT_RATE_LIMITS.groupCreate, invite: DEFAULT_RATE_LIMITS.invite, invited: DEFAULT_RATE_LIMITS.invited } });
    const [spammer, stranger] = [await app.user('spammer'), await app.user('stranger')];
    const outcomes = { ok: 0, refused: 0 };
    for (let i = 0; i < 300; i++) {
      await spammer.caller.group.create({ name: `spam ${i}`, memberIds: [stranger.id] }).then(
        () => outcomes.ok++,
        (error: { code?: string }) => {
          expect(error.code).toBe('TOO_MANY_REQUESTS');
          outcomes.refused++;
        },
      );
    }
    expect(outcomes.ok).toBe(LIMITS.pendingInvitationsPerInvitee);
    expect(await app.count('invitations')).toBe(LIMITS.pendingInvitationsPerInvitee);
    expect(await app.count('notifications')).toBe(LIMITS.pendingInvitationsPerInvitee);
    expect(await app.count('groups')).toBeLessThanOrEqual(DEFAULT_RATE_LIMITS.groupCreate.points);
  });

  it('group creation per user and invitations received per target are limited, with retryAfterMs', async () => {
    app = await createTestApp({ rateLimits: { ...RELAXED_LIMITS, groupCreate: { points: 2, duration: 3600 }, invited: { points: 2, duration: 3600 } } });
    const [a, b, c, target] = [await app.user('a'), await app.user('b'), await app.user('c'), await app.user('target')];
    await a.caller.group.create({ name: 'one' });
    await a.caller.group.create({ name: 'two' });
    const third = a.caller.group.create({ name: 'three' });
    await expect(third).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(((await third.catch((e: unknown) => e)) as { cause: { retryAfterMs: number } }).cause.retryAfterMs).toBeGreaterThan(3_000_000);
    await b.caller.group.create({ name: 'b', memberIds: [target.id] });
    await c.caller.group.create({ name: 'c', memberIds: [target.id] });
    const inviter = await app.user('d');
    await expect(inviter.caller.group.create({ name: 'd', memberIds: [target.id] })).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(await app.count('invitations')).toBe(2);
  });
});
