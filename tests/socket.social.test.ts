import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConversationEvent } from '../src/shared/events.js';
import type { NotificationEvent } from '../src/shared/notifications.js';
import type { PresenceDTO } from '../src/shared/social.js';
import { SERVICE_TOKEN, uid } from './helpers.js';
import { connect, signUp, startServer, waitFor, type TestServer } from './socket-helpers.js';

let server: TestServer;
beforeAll(async () => {
  // Short keepalive and grace so a silent socket is detected within a second.
  server = await startServer({
    timings: { keepAlivePingMs: 150, keepAlivePongWaitMs: 150, presenceGraceMs: 200, typingTtlMs: 6_000, typingRenewMinMs: 1_000 },
  });
});
afterAll(async () => {
  await server.app.close();
});

function events(conn: ReturnType<typeof connect>, conversationId: number) {
  const received: ConversationEvent[] = [];
  let started = false;
  const subscription = conn.client.conversation.events.subscribe(
    { conversationId },
    { onStarted: () => (started = true), onData: (value) => received.push(...value.data) },
  );
  return { received, subscription, started: () => started };
}

describe('social realtime over real sockets', () => {
  it('B sees A typing and then not typing; A sees B read its message', async () => {
    const [alice, bob] = [await signUp(server.base, 'alice'), await signUp(server.base, 'bob')];
    const a = connect(server, alice.cookie);
    const b = connect(server, bob.cookie);
    const { id: conversationId } = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    const forBob = events(b, conversationId);
    const forAlice = events(a, conversationId);
    await waitFor(() => forBob.started() && forAlice.started());

    await a.client.typing.start.mutate({ conversationId });
    await waitFor(() => forBob.received.some((e) => e.type === 'typing' && e.typing));
    await a.client.typing.stop.mutate({ conversationId });
    await waitFor(() => forBob.received.some((e) => e.type === 'typing' && !e.typing));
    expect(forBob.received.filter((e) => e.type === 'typing')).toEqual([
      { type: 'typing', conversationId, userId: alice.id, typing: true },
      { type: 'typing', conversationId, userId: alice.id, typing: false },
    ]);

    const message = await a.client.message.send.mutate({ conversationId, content: 'seen?', clientMessageId: uid() });
    await b.client.message.read.mutate({ messageId: message.id });
    await waitFor(() => forAlice.received.some((e) => e.type === 'read'));
    expect(forAlice.received.find((e) => e.type === 'read')).toEqual({ type: 'read', conversationId, userId: bob.id, lastReadSeq: message.seq });
    expect(forAlice.received.some((e) => e.type === 'typing')).toBe(false);
    await a.close();
    await b.close();
  });

  it("C goes offline after C's last socket dies without a close (no pong)", async () => {
    const [alice, carol] = [await signUp(server.base, 'amy'), await signUp(server.base, 'cleo')];
    const a = connect(server, alice.cookie);
    // Presence is visible once both wrote in their chat (or share a group).
    const { id: conversationId } = await a.client.conversation.openDirect.mutate({ userId: carol.id });
    await a.client.message.send.mutate({ conversationId, content: 'hi', clientMessageId: 'amy-1' });
    // Carol writes over plain HTTP: no socket of hers may be open before the test opens its own.
    await fetch(`${server.base}/trpc/message.send`, {
      method: 'POST',
      headers: { cookie: carol.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ conversationId, content: 'hi', clientMessageId: 'cleo-1' }),
    });
    const presence: PresenceDTO[] = [];
    a.client.presence.watch.subscribe({ userIds: [carol.id] }, { onData: (batch) => presence.push(...batch) });
    await waitFor(() => presence.length === 1);
    expect(presence[0]).toMatchObject({ userId: carol.id, status: 'offline' });

    // Two tabs: one closes cleanly, the other goes silent (never answers PING).
    const tab1 = new WebSocket(server.wsUrl, { headers: { cookie: carol.cookie } });
    const silent = new WebSocket(server.wsUrl, { headers: { cookie: carol.cookie }, autoPong: false });
    await Promise.all([tab1, silent].map((ws) => new Promise((resolve) => ws.once('open', resolve))));
    await waitFor(() => presence.some((p) => p.status === 'online'), 5_000, 'online');
    tab1.close();
    silent.pause(); // stops reading, so the application-level PING is never answered
    await waitFor(() => presence.at(-1)?.status === 'offline', 5_000, 'offline after missed pong');
    expect(presence.filter((p) => p.userId === carol.id).map((p) => p.status)).toEqual(['offline', 'online', 'offline']);
    expect(presence.at(-1)!.lastSeenAt).not.toBeNull();
    silent.terminate();
    await a.close();
  });

  it('a member whose socket dropped less than the presence grace ago gets no "new message" notification; once the grace is over, one', async () => {
    const [alice, bob] = [await signUp(server.base, 'ada'), await signUp(server.base, 'ben')];
    const a = connect(server, alice.cookie);
    const { id: conversationId } = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    const { connections, notifications } = server.app.deps.services;
    const bobSocket = new WebSocket(server.wsUrl, { headers: { cookie: bob.cookie } });
    await waitFor(() => connections.isConnected(bob.id), 5_000, 'bob connected');
    bobSocket.terminate();
    await waitFor(() => !connections.isConnected(bob.id), 5_000, 'bob gone');
    const messageNotes = async () => {
      await notifications.flushOffline();
      const page = await notifications.list(bob.id, { limit: 50, unreadOnly: false });
      return page.notifications.filter((n) => n.type === 'message').map((n) => n.content.body);
    };

    // Within the grace (200 ms here): a reload or a blip, his client replays what he missed.
    await a.client.message.send.mutate({ conversationId, content: 'during the blip', clientMessageId: uid() });
    await server.app.deps.services.messages.writer.idle();
    expect(await messageNotes()).toEqual([]);
    // Past it, he is offline: the next message leaves him a notification.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await a.client.message.send.mutate({ conversationId, content: 'after the grace', clientMessageId: uid() });
    await server.app.deps.services.messages.writer.idle();
    expect(await messageNotes()).toEqual(['after the grace']);
    await a.close();
  });

  it("a removed member's live group stream stops at once while the others keep receiving", async () => {
    const [owner, bob, carol] = [await signUp(server.base, 'olga'), await signUp(server.base, 'bert'), await signUp(server.base, 'cora')];
    const o = connect(server, owner.cookie);
    const b = connect(server, bob.cookie);
    const c = connect(server, carol.cookie);
    const { group, invitations } = await o.client.group.create.mutate({ name: 'club', memberIds: [bob.id, carol.id] });
    await b.client.group.respond.mutate({ invitationId: invitations[0]!.id, accept: true });
    await c.client.group.respond.mutate({ invitationId: invitations[1]!.id, accept: true });
    let bobCompleted = false;
    const forBob: ConversationEvent[] = [];
    b.client.conversation.events.subscribe(
      { conversationId: group.conversationId },
      { onData: (value) => forBob.push(...value.data), onComplete: () => (bobCompleted = true) },
    );
    const forCarol = events(c, group.conversationId);
    await waitFor(() => forCarol.started());
    await new Promise((resolve) => setTimeout(resolve, 50));
    await o.client.message.group.mutate({ groupId: group.id, content: 'one', clientMessageId: uid() });
    await waitFor(() => forBob.length === 1 && forCarol.received.length === 1);

    await o.client.group.removeMember.mutate({ groupId: group.id, userId: bob.id });
    await waitFor(() => bobCompleted, 5_000, "bob's stream to end");
    await o.client.message.group.mutate({ groupId: group.id, content: 'two', clientMessageId: uid() });
    await waitFor(() => forCarol.received.filter((e) => e.type === 'message').length === 2);
    expect(forBob.filter((e) => e.type === 'message').map((e) => e.type === 'message' && e.message.content)).toEqual(['one']);
    await expect(b.client.conversation.history.query({ conversationId: group.conversationId })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await Promise.all([o.close(), b.close(), c.close()]);
  });

  it('a notification pushed over HTTP with the service token reaches the open stream; a wrong token is refused', async () => {
    const dana = await signUp(server.base, 'dana');
    const d = connect(server, dana.cookie);
    const received: NotificationEvent[] = [];
    let started = false;
    d.client.notification.stream.subscribe({}, { onStarted: () => (started = true), onData: (value) => received.push(...value.data) });
    await waitFor(() => started);
    const push = (token: string) =>
      fetch(`${server.base}/trpc/notification.push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: 'like', userId: dana.id, content: { title: 'someone liked your photo', url: '/photos/1' } }),
      });
    const ok = await push(SERVICE_TOKEN);
    expect(ok.status).toBe(200);
    await waitFor(() => received.length === 1);
    expect(received[0]).toMatchObject({ type: 'notification', unreadCount: 1, notification: { type: 'like', content: { title: 'someone liked your photo' } } });

    const wrong = await push(`${SERVICE_TOKEN}-wrong`);
    expect(wrong.status).toBe(401);
    // A user session with the right body is still refused.
    const asUser = await fetch(`${server.base}/trpc/notification.push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: dana.cookie },
      body: JSON.stringify({ type: 'like', userId: dana.id, content: { title: 'fake' } }),
    });
    expect(asUser.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(1);
    await d.close();
  });
});
