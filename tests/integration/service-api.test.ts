import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/shared/events.js';
import { DELETED_MESSAGE_CONTENT, DELETED_USER_NAME } from '../../src/shared/integration.js';
import { createTestApp, SERVICE_TOKEN, uid, type TestApp } from '../helpers.js';
import { connect, signUp, startServer, waitFor, type TestServer } from '../socket-helpers.js';

describe('service API through createCaller with the service identity', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await createTestApp();
  });
  afterEach(() => app.close());

  it('creates a group of host users at once, adds and removes members, posts a system message, notifies', async () => {
    const ana = await app.service.service.user({ externalId: 'h-1', name: 'Ana' });
    const group = await app.service.service.createGroup({
      name: 'Book club',
      owner: { externalId: 'h-1' },
      members: [{ externalId: 'h-2', name: 'Bo' }, { externalId: 'h-3', name: 'Cy' }],
    });
    expect(group.members.map((member) => member.username).sort()).toEqual(['Ana', 'Bo', 'Cy']);
    const groupId = group.groupId!;
    const asAna = app.caller({ user: ana, sessionId: null });

    await app.service.service.addMember({ groupId, user: { externalId: 'h-4', name: 'Di' } });
    await expect(app.service.service.addMember({ groupId, user: { externalId: 'h-4' } })).rejects.toMatchObject({ code: 'CONFLICT' });
    await app.service.service.removeMember({ groupId, user: { externalId: 'h-2' } });
    expect((await asAna.group.members({ groupId })).map((member) => member.username)).toEqual(['Ana', 'Cy', 'Di']);
    await expect(app.service.service.removeMember({ groupId, user: { externalId: 'h-unknown' } })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const system = await app.service.service.postSystemMessage({ groupId, content: 'Welcome to the book club', clientMessageId: 'welcome-1' });
    const retried = await app.service.service.postSystemMessage({ groupId, content: 'Welcome to the book club', clientMessageId: 'welcome-1' });
    expect(retried.id).toBe(system.id);
    const history = await asAna.conversation.history({ conversationId: group.id });
    expect(history.messages.map((message) => message.content)).toEqual(['Welcome to the book club']);

    // The system message also left Ana (offline) a new-message notification (gathered for a
    // moment before it is written: written now, before the like).
    await app.services.notifications.flushOffline();
    await app.service.service.notify({ user: { externalId: 'h-1' }, type: 'like', content: { title: 'Bo liked your post' } });
    // Newest first.
    const titles = (await asAna.notification.list({})).notifications.map((n) => n.content.title);
    expect(titles).toHaveLength(2);
    expect(titles[0]).toBe('Bo liked your post');
  });

  it('is refused to users (FORBIDDEN) and to anonymous callers (UNAUTHORIZED), storing nothing', async () => {
    const user = await app.user();
    await expect(user.caller.service.user({ externalId: 'x', name: 'X' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(app.anonymous.service.deleteUser({ user: { userId: user.id } })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(app.service.service.notify({ user: { externalId: 'nobody' }, type: 'like', content: { title: 'x' } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await app.count('users')).toBe(1);
  });
});

describe('account deletion through the service API (HTTP, service token)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.app.close());

  const callService = async (path: string, input: unknown) => {
    const response = await fetch(`${server.base}/trpc/service.${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SERVICE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    return { status: response.status, body: (await response.json()) as { result?: { data: unknown } } };
  };

  it('ends their sessions and sockets, erases their messages but keeps every seq, leaves their groups', async () => {
    const [alice, bob, carol] = [await signUp(server.base, 'alice'), await signUp(server.base, 'bob'), await signUp(server.base, 'carol')];
    const a = connect(server, alice.cookie);
    const b = connect(server, bob.cookie);
    const created = await callService('createGroup', { name: 'Trio', owner: { userId: alice.id }, members: [{ userId: bob.id }, { userId: carol.id }] });
    const group = created.body.result!.data as { id: number; groupId: number };
    const direct = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    for (const [client, conversationId, content] of [
      [a, group.id, 'alice 1'], [b, group.id, 'bob 1'], [a, group.id, 'alice 2'], [a, direct.id, 'hi bob'], [b, direct.id, 'hi alice'],
    ] as const) {
      await client.client.message.send.mutate({ conversationId, content, clientMessageId: uid() });
    }
    let aliceClosed: number | undefined;
    a.sockets.at(-1)?.on('close', (code) => (aliceClosed = code));
    a.client.inbox.events.subscribe({}, {});
    await waitFor(() => a.sockets.at(-1)?.readyState === 1, 5_000, 'alice socket open');

    const deleted = await callService('deleteUser', { user: { userId: alice.id } });
    expect(deleted.body.result?.data).toEqual({ erasedMessages: 3, leftGroups: 1 });
    await waitFor(() => aliceClosed !== undefined, 5_000, 'alice socket closed');
    expect(aliceClosed).toBe(4001);
    const me = await fetch(`${server.base}/trpc/auth.me`, { headers: { cookie: alice.cookie } });
    expect(((await me.json()) as { result: { data: unknown } }).result.data).toBeNull();

    // Bob's histories: every seq still there, alice's content erased, her name anonymized.
    const groupHistory = await b.client.conversation.history.query({ conversationId: group.id });
    expect(groupHistory.messages.map((m) => [m.seq, m.content]).reverse()).toEqual([[1, DELETED_MESSAGE_CONTENT], [2, 'bob 1'], [3, DELETED_MESSAGE_CONTENT]]);
    const directHistory = await b.client.conversation.history.query({ conversationId: direct.id });
    expect(directHistory.messages.map((m) => m.seq).reverse()).toEqual([1, 2]);
    const list = await b.client.conversation.list.query();
    expect(list.find((c) => c.id === direct.id)?.title).toBe(DELETED_USER_NAME);
    expect((await b.client.group.members.query({ groupId: group.groupId })).map((m) => m.username).sort()).toEqual(['bob', 'carol']);

    // Replay from the start is gap-free and new messages continue the sequence.
    const replayed: ConversationEvent[] = [];
    const subscription = b.client.conversation.events.subscribe({ conversationId: group.id, lastEventId: '0' }, { onData: ({ data }) => replayed.push(...data) });
    await b.client.message.send.mutate({ conversationId: group.id, content: 'bob 2', clientMessageId: uid() });
    await waitFor(() => replayed.filter((e) => e.type === 'message').length === 4, 5_000, 'replay and live');
    expect(replayed.flatMap((e) => (e.type === 'message' ? [e.message.seq] : []))).toEqual([1, 2, 3, 4]);
    subscription.unsubscribe();

    expect((await callService('deleteUser', { user: { userId: alice.id } })).status).toBe(404);
    a.close();
    b.close();
  });
});
