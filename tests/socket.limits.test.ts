import { topics } from '../src/server/bus/topics.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_LIMITS } from '../src/server/config.js';
import { uid } from './helpers.js';
import { connect, rawSocket, signUp, startServer, waitFor, type TestServer } from './socket-helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({
    connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, maxSubscriptions: 3, framesPerSecond: 20, framesBurst: 40, maxBufferedBytes: 256 * 1024, bufferCheckMs: 50 },
  });
});
afterAll(async () => {
  await server.app.close();
});

const subscribeFrame = (id: number, conversationId: number) =>
  JSON.stringify({ id, method: 'subscription', params: { path: 'conversation.events', input: { conversationId } } });

describe('a socket cannot cost the server without bound', () => {
  it('caps subscriptions per connection and frees a slot when one stops', async () => {
    const [alice, bob] = [await signUp(server.base, 'alice'), await signUp(server.base, 'bob')];
    const a = connect(server, alice.cookie);
    const { id: conversationId } = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    const socket = rawSocket(server, { cookie: alice.cookie });
    await socket.opened;
    for (let id = 1; id <= 4; id++) socket.ws.send(subscribeFrame(id, conversationId));
    await waitFor(() => socket.received.some((m) => m.includes('TOO_MANY_REQUESTS')));
    const refused = JSON.parse(socket.received.find((m) => m.includes('TOO_MANY_REQUESTS'))!);
    expect(refused.id).toBe(4);
    await waitFor(() => socket.received.filter((m) => m.includes('"started"')).length === 3);
    const topic = topics.conversation(conversationId);
    expect(server.app.deps.bus.listenerCount(topic)).toBe(3);
    socket.ws.send(JSON.stringify({ id: 1, method: 'subscription.stop' }));
    // The stream ends at once (no event needed to wake it) and gives back its bus listener.
    await waitFor(() => socket.received.some((m) => m.includes('"id":1') && m.includes('"stopped"')));
    await waitFor(() => server.app.deps.bus.listenerCount(topic) === 2, 1_000, 'listener released');
    socket.ws.send(subscribeFrame(5, conversationId));
    await waitFor(() => socket.received.some((m) => m.includes('"id":5') && m.includes('"started"')));
    // A refused subscription (not a member) gives its slot back as well.
    socket.ws.send(JSON.stringify({ id: 2, method: 'subscription.stop' }));
    await waitFor(() => socket.received.some((m) => m.includes('"id":2') && m.includes('"stopped"')));
    socket.ws.send(subscribeFrame(6, 999_999));
    await waitFor(() => socket.received.some((m) => m.includes('"id":6') && m.includes('FORBIDDEN')));
    socket.ws.send(subscribeFrame(7, conversationId));
    await waitFor(() => socket.received.some((m) => m.includes('"id":7') && m.includes('"started"')));
    socket.ws.close();
    await a.close();
  });

  it('closes a socket that floods frames (1008) and leaves the others alone', async () => {
    const carol = await signUp(server.base, 'carol');
    const flooder = rawSocket(server, { cookie: carol.cookie });
    const calm = rawSocket(server, { cookie: carol.cookie });
    await Promise.all([flooder.opened, calm.opened]);
    for (let i = 0; i < 100; i++) flooder.ws.send(JSON.stringify({ id: i + 1, method: 'query', params: { path: 'auth.me' } }));
    expect((await flooder.closed).code).toBe(1008);
    calm.ws.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me' } }));
    await waitFor(() => calm.received.some((m) => m.includes('carol')));
    calm.ws.close();
  });

  it('terminates a socket that stops reading while its queue grows', async () => {
    const [dave, erin] = [await signUp(server.base, 'dave'), await signUp(server.base, 'erin')];
    const d = connect(server, dave.cookie);
    const { id: conversationId } = await d.client.conversation.openDirect.mutate({ userId: erin.id });
    const reader = rawSocket(server, { cookie: erin.cookie });
    await reader.opened;
    reader.ws.send(subscribeFrame(1, conversationId));
    await waitFor(() => reader.received.some((m) => m.includes('"started"')));
    reader.ws.pause(); // never reads again
    const content = 'z'.repeat(3_000);
    let sent = 0;
    // The paused client cannot notice; the server's registry of open sockets can.
    const terminated = () => !server.app.deps.services.connections.isConnected(erin.id);
    expect(terminated()).toBe(false);
    while (!terminated() && sent < 6_000) {
      // Batches of 15 stay under the 64 KiB request body limit.
      await Promise.all(Array.from({ length: 15 }, () => d.client.message.send.mutate({ conversationId, content, clientMessageId: uid() })));
      sent += 15;
    }
    await waitFor(terminated, 10_000, 'termination');
    expect(sent).toBeLessThan(6_000);
    // The server is fine: the sender still works.
    expect(await d.client.auth.me.query()).toMatchObject({ username: 'dave' });
    await d.close();
  });
});

describe('sessions', () => {
  it('closes a socket whose session expires while it is open (4001), and the expired cookie gets UNAUTHORIZED after', async () => {
    const short = await startServer({
      sessionTtlMs: 1_500,
      connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, sessionCheckMs: 50 },
    });
    try {
      const beforeSignUp = Date.now();
      const alice = await signUp(short.base, 'alice');
      const socket = rawSocket(short, { cookie: alice.cookie });
      await socket.opened;
      socket.ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'inbox.events', input: {} } }));
      await waitFor(() => socket.received.some((m) => m.includes('"started"')));
      expect((await socket.closed).code).toBe(4001);
      // Not before the session's end (1.5 s after it was issued), and soon after it.
      const closedAfter = Date.now() - beforeSignUp;
      expect(closedAfter).toBeGreaterThanOrEqual(1_490);
      expect(closedAfter).toBeLessThan(4_000);
      const again = rawSocket(short, { cookie: alice.cookie });
      await again.opened;
      again.ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'inbox.events', input: {} } }));
      await waitFor(() => again.received.some((m) => m.includes('UNAUTHORIZED')));
      again.ws.close();
    } finally {
      await short.app.close();
    }
  });
});
