/**
 * Several real server processes on one PostgreSQL database (PostgreSQL project only). Until a
 * cross-process bus exists, what one process commits reaches another's subscribers through
 * history and replay, which is what these tests read.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MessageDTO } from '../src/shared/dto.js';
import { runServerToExit, startServerProcess, type ServerProcess } from './server-process.js';
import { connect, signUp, waitFor, type TestServer } from './socket-helpers.js';
import { trackedData } from './helpers.js';
import { postgresQuery } from './store.js';

const schema = `multi_${process.pid}`;
const env = () => ({ DATABASE_URL: process.env.TEST_DATABASE_URL!, DATABASE_SCHEMA: schema, LOG_LEVEL: 'info' });
let servers: ServerProcess[] = [];

beforeAll(async () => {
  // All at once on an empty schema: one applies the migrations (under the migration lock), the
  // others wait for it and find nothing pending.
  servers = await Promise.all([0, 1, 2].map(() => startServerProcess(env())));
});
afterAll(async () => {
  const codes = await Promise.all(servers.map((server) => server.stop()));
  expect(codes).toEqual([0, 0, 0]);
  servers = [];
});

const asTestServer = (server: ServerProcess) => ({ base: server.base, wsUrl: server.wsUrl }) as unknown as TestServer;

async function pair(prefix: string) {
  const alice = await signUp(servers[0]!.base, `${prefix}-alice`);
  const bob = await signUp(servers[1]!.base, `${prefix}-bob`);
  const clients = servers.map((server) => ({
    alice: connect(asTestServer(server), alice.cookie),
    bob: connect(asTestServer(server), bob.cookie),
  }));
  const conversation = await clients[0]!.alice.client.conversation.openDirect.mutate({ userId: bob.id });
  const close = () => clients.forEach((each) => (each.alice.close(), each.bob.close()));
  return { alice, bob, clients, conversationId: conversation.id, close };
}

async function fullHistory(client: ReturnType<typeof connect>['client'], conversationId: number): Promise<MessageDTO[]> {
  const all: MessageDTO[] = [];
  let cursor: number | undefined;
  do {
    const page = await client.conversation.history.query({ conversationId, cursor, limit: 50 });
    all.push(...page.messages);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return all.reverse();
}

it('gives concurrent sends from three processes into one conversation one gap-free seq order, in commit order, that every process serves', async () => {
  const { clients, conversationId, close } = await pair('seq');
  const perSender = 15;
  const sends = clients.flatMap(({ alice, bob }, process) =>
    [alice, bob].flatMap((sender, who) =>
      Array.from({ length: perSender }, (_, i) =>
        sender.client.message.send.mutate({ conversationId, content: `p${process}-u${who}-${i}`, clientMessageId: `seq-${process}-${who}-${i}` }),
      ),
    ),
  );
  const sent = await Promise.all(sends);
  const total = servers.length * 2 * perSender;
  expect(sent.map((message) => message.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(new Set(sent.map((message) => message.id)).size).toBe(total);

  const histories = await Promise.all(clients.map(({ bob }) => fullHistory(bob.client, conversationId)));
  for (const history of histories) {
    expect(history.map((message) => message.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Commit order: a later seq never has a lower id (the commit-order lock).
    expect(history.map((message) => message.id)).toEqual([...history.map((message) => message.id)].sort((a, b) => a - b));
    expect(history).toEqual(histories[0]);
  }

  // Every process replays the same stream to its subscribers.
  const received = await Promise.all(
    clients.map(({ alice }) => {
      const events: Array<{ seq: number; id: number }> = [];
      return new Promise<typeof events>((resolve, reject) => {
        const subscription = alice.client.conversation.events.subscribe(
          { conversationId, lastEventId: '0' },
          {
            onData(value) {
              const { data } = trackedData<Array<{ type: string; message?: MessageDTO }>>([value.id, value.data]);
              for (const event of data) if (event.type === 'message') events.push({ seq: event.message!.seq, id: event.message!.id });
              if (events.length >= total) {
                subscription.unsubscribe();
                resolve(events);
              }
            },
            onError: reject,
          },
        );
      });
    }),
  );
  for (const events of received) expect(events).toEqual(histories[0]!.map(({ seq, id }) => ({ seq, id })));
  close();
});

it('stores one message for the same (sender, clientMessageId) sent to two processes at once, and answers both with it', async () => {
  const { clients, conversationId, close } = await pair('idem');
  const attempts = Array.from({ length: 12 }, (_, i) => `idem-${i}`);
  const answers = await Promise.all(
    attempts.map((clientMessageId) =>
      Promise.all(
        [clients[0]!, clients[1]!].map(({ alice }) => alice.client.message.send.mutate({ conversationId, content: `once ${clientMessageId}`, clientMessageId })),
      ),
    ),
  );
  for (const [first, second] of answers) expect(second).toEqual(first);
  const history = await fullHistory(clients[2]!.bob.client, conversationId);
  expect(history.map((message) => message.clientMessageId).sort()).toEqual([...attempts].sort());
  expect(history.map((message) => message.seq)).toEqual(Array.from({ length: attempts.length }, (_, i) => i + 1));
  close();
});

it('keeps every acknowledged message exactly once when PostgreSQL drops the server connections during a burst, then answers again', async () => {
  const { clients, conversationId, close } = await pair('drop');
  const sender = clients[0]!.alice.client;
  type Outcome = { ok: true; message: MessageDTO } | { ok: false; clientMessageId: string; error: unknown };
  const outcomes: Outcome[] = [];
  let sending = true;
  // Six senders, each one send after another, so that sends are in flight all along.
  const senders = Array.from({ length: 6 }, async (_, lane) => {
    for (let i = 0; sending || i < 5; i++) {
      const clientMessageId = `drop-${lane}-${i}`;
      outcomes.push(
        await sender.message.send
          .mutate({ conversationId, content: `burst ${lane} ${i}`, clientMessageId })
          .then((message): Outcome => ({ ok: true, message }))
          .catch((error: unknown): Outcome => ({ ok: false, clientMessageId, error })),
      );
    }
  });
  let terminated = 0;
  for (let round = 0; round < 5; round++) {
    await waitFor(() => outcomes.length > round * 20, 20_000, 'sends between drops');
    const rows = await postgresQuery<{ pid: number }>(
      process.env.TEST_DATABASE_URL!,
      `SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    terminated += rows.length;
  }
  sending = false;
  await Promise.all(senders);
  expect(terminated).toBeGreaterThan(0);
  const stored = await fullHistory(clients[1]!.bob.client, conversationId);
  const storedIds = stored.map((message) => message.clientMessageId);
  // Each message at most once, each acknowledged one stored, seqs gap-free.
  expect(new Set(storedIds).size).toBe(storedIds.length);
  for (const outcome of outcomes) if (outcome.ok) expect(storedIds).toContain(outcome.message.clientMessageId);
  expect(stored.map((message) => message.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
  // A refused send says so clearly, without internals.
  for (const outcome of outcomes) if (!outcome.ok) expect(String((outcome.error as Error).message)).not.toMatch(/select|insert|pg_|terminat/i);
  // The server answers again (on fresh connections).
  const after = await sender.message.send.mutate({ conversationId, content: 'after the drop', clientMessageId: 'drop-after' });
  expect(after.seq).toBe(stored.length + 1);
  close();
});

it('refuses to start when PostgreSQL cannot be reached: bounded retries, then one clear error naming DATABASE_URL and the host', async () => {
  const { code, output } = await runServerToExit({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', DATABASE_CONNECT_TIMEOUT_S: '1' });
  expect(code).toBe(1);
  expect(output).toContain('DATABASE_URL');
  expect(output).toContain('127.0.0.1:1');
});
