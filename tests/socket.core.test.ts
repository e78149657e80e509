import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../src/shared/events.js';
import { LIMITS } from '../src/shared/limits.js';
import { uid } from './helpers.js';
import { connect, rawSocket, signUp, startServer, waitFor, type TestServer } from './socket-helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.app.close();
});

type Received = { id: string | undefined; events: ConversationEvent[] };

function collect(conn: ReturnType<typeof connect>, input: { conversationId: number; lastEventId?: string }) {
  const received: Received[] = [];
  const errors: unknown[] = [];
  let started = 0;
  const subscription = conn.client.conversation.events.subscribe(input, {
    onStarted: () => started++,
    onData: (value) => received.push({ id: value.id, events: value.data }),
    onError: (error) => errors.push(error),
  });
  const messages = () => received.flatMap((r) => r.events).flatMap((e) => (e.type === 'message' ? [e.message] : []));
  return { received, errors, subscription, messages, started: () => started };
}

describe('over real sockets', () => {
  it('delivers direct and group messages in order to the other member, with the login cookie', async () => {
    const [alice, bob, carol] = [await signUp(server.base, 'alice'), await signUp(server.base, 'bob'), await signUp(server.base, 'carol')];
    const a = connect(server, alice.cookie);
    const b = connect(server, bob.cookie);
    expect(await b.client.auth.me.query()).toEqual({ id: bob.id, username: 'bob' });
    const direct = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    const group = await server.app.deps.services.groups.createWithMembers(alice.id, 'team', [bob.id, carol.id]);
    const directStream = collect(b, { conversationId: direct.id });
    const groupStream = collect(b, { conversationId: group.id });
    await waitFor(() => directStream.started() === 1 && groupStream.started() === 1, 5_000, 'subscriptions');

    for (let i = 1; i <= 5; i++) {
      await a.client.message.send.mutate({ conversationId: direct.id, content: `direct ${i}`, clientMessageId: uid() });
      await a.client.message.group.mutate({ groupId: group.groupId!, content: `group ${i}`, clientMessageId: uid() });
    }
    await waitFor(() => directStream.messages().length === 5 && groupStream.messages().length === 5, 5_000, 'messages');
    expect(directStream.messages().map((m) => m.content)).toEqual([1, 2, 3, 4, 5].map((i) => `direct ${i}`));
    expect(groupStream.messages().map((m) => m.content)).toEqual([1, 2, 3, 4, 5].map((i) => `group ${i}`));
    expect(groupStream.received.at(-1)!.id).toBe('5');
    directStream.subscription.unsubscribe();
    groupStream.subscription.unsubscribe();
    await a.close();
    await b.close();
  });

  it('refuses subscriptions with a missing or wrong cookie (UNAUTHORIZED), without a reconnect loop', async () => {
    const alice = await signUp(server.base, 'dora');
    const bob = await signUp(server.base, 'evan');
    const a = connect(server, alice.cookie);
    const { id: conversationId } = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    for (const cookie of [null, 'sid=forged-session-token', `${alice.cookie}x`]) {
      const anonymous = connect(server, cookie);
      const stream = collect(anonymous, { conversationId });
      await waitFor(() => stream.errors.length === 1, 5_000, 'refusal');
      expect(stream.errors[0]).toMatchObject({ data: { code: 'UNAUTHORIZED' } });
      expect(anonymous.sockets).toHaveLength(1);
      await anonymous.close();
    }
    await a.close();
  });

  it('refuses the upgrade from a foreign Origin, accepts the same origin', async () => {
    const alice = await signUp(server.base, 'fred');
    const foreign = rawSocket(server, { cookie: alice.cookie, origin: 'https://evil.example' });
    await expect(foreign.opened).rejects.toThrow(/403/);
    const same = rawSocket(server, { cookie: alice.cookie, origin: server.base });
    await same.opened;
    same.ws.close();
  });

  it('closes only the socket that sends a frame over 64 KiB; garbage never crashes the server', async () => {
    const alice = await signUp(server.base, 'gina');
    const bob = await signUp(server.base, 'hank');
    const a = connect(server, alice.cookie);
    const b = connect(server, bob.cookie);
    const { id: conversationId } = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    const stream = collect(b, { conversationId });
    await waitFor(() => stream.started() === 1);

    const big = rawSocket(server, { cookie: alice.cookie });
    await big.opened;
    big.ws.send('x'.repeat(100 * 1024));
    expect((await big.closed).code).toBe(1009);
    expect(LIMITS.wsMaxPayloadBytes).toBe(64 * 1024);

    const garbage = rawSocket(server, { cookie: alice.cookie });
    await garbage.opened;
    const frames = [
      'not json at all',
      '{}',
      '[]',
      'null',
      '{"id":1,"method":"query","params":{"path":"no.such.procedure","input":null}}',
      '{"id":2,"method":"mutation","params":{"path":"message.send","input":{"conversationId":"x"}}}',
      '{"id":3,"method":"subscription","params":{"path":"conversation.events","input":{"conversationId":-5}}}',
      '{"id":4,"method":"subscription.stop"}',
      '{"id":null,"method":"query","params":{"path":"auth.me"}}',
      '{"method":"query","params":null}',
    ];
    for (const frame of frames) garbage.ws.send(frame);
    garbage.ws.send(Buffer.from([0xff, 0x00, 0x13, 0x37]), { binary: true });
    garbage.ws.send('{"id":5,"method":"query","params":{"path":"auth.me"}}');
    await waitFor(() => garbage.received.some((m) => m.includes('"id":5') && m.includes('gina')), 5_000, 'answer after garbage');
    expect(garbage.received.some((m) => m.includes('PARSE_ERROR'))).toBe(true);
    expect(garbage.received.some((m) => m.includes('NOT_FOUND'))).toBe(true);
    expect(garbage.received.some((m) => m.includes('BAD_REQUEST'))).toBe(true);
    garbage.ws.close();

    // Everyone else is unaffected.
    await a.client.message.send.mutate({ conversationId, content: 'still here', clientMessageId: uid() });
    await waitFor(() => stream.messages().length === 1);
    expect(stream.messages()[0]!.content).toBe('still here');
    await a.close();
    await b.close();
  });

  it('recovers across dropped sockets: 200 messages arrive exactly once, in order', async () => {
    const alice = await signUp(server.base, 'ivan');
    const bob = await signUp(server.base, 'judy');
    const a = connect(server, alice.cookie);
    const b = connect(server, bob.cookie);
    const { id: conversationId } = await a.client.conversation.openDirect.mutate({ userId: bob.id });
    const stream = collect(b, { conversationId, lastEventId: '0' });
    await waitFor(() => stream.started() === 1);

    const sending = (async () => {
      for (let i = 1; i <= 200; i++) {
        await a.client.message.send.mutate({ conversationId, content: `n${i}`, clientMessageId: `ivan-${i}` });
        if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    // Drop Bob's socket three times while Alice is sending.
    for (let drop = 0; drop < 3; drop++) {
      await waitFor(() => stream.messages().length > (drop + 1) * 30, 10_000, `progress before drop ${drop + 1}`);
      const reopened = b.nextOpen();
      b.cut();
      await reopened;
    }
    await sending;
    await waitFor(() => stream.messages().length >= 200, 15_000, 'all 200');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seqs = stream.messages().map((m) => m.seq);
    expect(b.sockets.length).toBeGreaterThanOrEqual(4);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(stream.messages().map((m) => m.content)).toEqual(Array.from({ length: 200 }, (_, i) => `n${i + 1}`));
    await a.close();
    await b.close();
  });
});
