/**
 * Three real instances (the built server) on one PostgreSQL database and one Redis, users on
 * A, B and C (PostgreSQL project only: these start their own processes and database).
 */
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AppRouter } from '../../src/shared/index.js';
import type { PresenceDTO } from '../../src/shared/social.js';
import { signUp, waitFor } from '../socket-helpers.js';
import { postgresQuery } from '../store.js';
import { clusterClient, watchConversation, watchInbox, type ClusterClient } from './client.js';
import { startCluster, type Cluster } from './harness.js';

let cluster: Cluster;
const clients: ClusterClient[] = [];
beforeAll(async () => {
  cluster = await startCluster(3);
}, 120_000);
afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.close();
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);
const httpClient = (base: string, cookie: string) =>
  createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${base}/trpc`, headers: () => ({ cookie }) })] });

it('messages, typing, receipts, presence, notifications and group removal cross instances; concurrent sends from all three reach every instance in one gap-free order, once', async () => {
  const [A, B, C] = cluster.instances.map((instance) => instance.url) as [string, string, string];
  const alice = await signUp(A, 'alice');
  const bob = await signUp(B, 'bob');
  const carol = await signUp(C, 'carol');
  const dave = await signUp(A, 'dave'); // never connected: the one who gets offline notifications
  const a = clusterClient(A, alice.cookie);
  const b = clusterClient(B, bob.cookie);
  const c = clusterClient(C, carol.cookie);
  clients.push(a, b, c);

  const { group, invitations } = await a.client.group.create.mutate({ name: 'club', memberIds: [bob.id, carol.id, dave.id] });
  await b.client.group.respond.mutate({ invitationId: invitations[0]!.id, accept: true });
  await c.client.group.respond.mutate({ invitationId: invitations[1]!.id, accept: true });
  await httpClient(A, dave.cookie).group.respond.mutate({ invitationId: invitations[2]!.id, accept: true });
  const conversationId = group.conversationId;

  const onA = watchConversation(a, conversationId);
  const onB = watchConversation(b, conversationId);
  const onC = watchConversation(c, conversationId);
  const inboxB = watchInbox(b);
  const inboxC = watchInbox(c);
  const presenceOnB: PresenceDTO[] = [];
  let watching = false;
  b.client.presence.watch.subscribe({ userIds: [alice.id, carol.id] }, { onStarted: () => (watching = true), onData: (batch) => presenceOnB.push(...batch) });
  await waitFor(() => onA.state.started && onB.state.started && onC.state.started && inboxB.state.started && inboxC.state.started && watching, 10_000, 'streams');

  // Presence: alice (A) and carol (C) are online for bob (B), from the shared store.
  await waitFor(() => presenceOnB.filter((p) => p.status === 'online').length >= 2, 10_000, 'presence snapshot');

  // A message sent on A reaches B and C.
  const first = await a.client.message.group.mutate({ groupId: group.id, content: 'hello from A', clientMessageId: 'first' });
  await waitFor(() => onB.seqs().includes(first.seq) && onC.seqs().includes(first.seq) && inboxC.messageIds().includes(first.id), 10_000, 'first message');

  // Typing on A reaches B; a read receipt on B reaches A.
  await a.client.typing.start.mutate({ conversationId });
  await waitFor(() => onB.events.some((e) => e.type === 'typing' && e.userId === alice.id && e.typing), 10_000, 'typing');
  await b.client.message.read.mutate({ messageId: first.id });
  await waitFor(() => onA.events.some((e) => e.type === 'read' && e.userId === bob.id), 10_000, 'receipt');

  // Notifications: dave (no connection anywhere) gets one; carol, connected on C only, gets none from A.
  const messageNotifications = async (client: ReturnType<typeof httpClient>) =>
    (await client.notification.list.query({})).notifications.filter((notification) => notification.type === 'message');
  await waitFor(async () => (await messageNotifications(httpClient(A, dave.cookie))).length === 1, 10_000, "dave's notification");
  expect(await messageNotifications(c.client)).toEqual([]);

  // Concurrent sends from all three instances: every subscriber on every instance, one gap-free order, each once.
  const perSender = 20;
  const sent = await Promise.all(
    [a, b, c].flatMap((sender, who) =>
      range(1, perSender).map((i) => sender.client.message.group.mutate({ groupId: group.id, content: `s${who}-${i}`, clientMessageId: `burst-${who}-${i}` })),
    ),
  );
  const last = first.seq + 3 * perSender;
  expect(sent.map((message) => message.seq).sort((x, y) => x - y)).toEqual(range(first.seq + 1, last));
  await waitFor(() => [onA, onB, onC].every((stream) => stream.seqs().at(-1) === last), 15_000, 'the burst everywhere');
  for (const stream of [onA, onB, onC]) expect(stream.seqs()).toEqual(range(1, last));
  const ids = [first.id, ...sent.map((message) => message.id)].sort((x, y) => x - y);
  await waitFor(() => inboxB.messageIds().length >= ids.length && inboxC.messageIds().length >= ids.length, 10_000, 'inboxes');
  for (const inbox of [inboxB, inboxC]) expect([...inbox.messageIds()].sort((x, y) => x - y)).toEqual(ids);

  // Group removal on A: carol's stream on C ends at once, her inbox is told, and she gets nothing more.
  await a.client.group.removeMember.mutate({ groupId: group.id, userId: carol.id });
  await waitFor(() => onC.state.ended, 10_000, "carol's stream to end");
  await waitFor(() => inboxC.events.some((e) => e.type === 'removed' && e.conversationId === conversationId), 10_000, 'removed');
  const after = await b.client.message.group.mutate({ groupId: group.id, content: 'after carol left', clientMessageId: 'after' });
  await waitFor(() => onA.seqs().includes(after.seq), 10_000, 'message after removal');
  expect(onC.seqs()).not.toContain(after.seq);
  expect(inboxC.messageIds()).not.toContain(after.id);

  // Alice and carol leave (their only connections close). Bob, on B, sees alice offline after the
  // grace period, but not carol: removed on A, she shares nothing with him any more, and his
  // watch on B stopped covering her.
  const lastSeenOf = async (userId: number) =>
    (await postgresQuery<{ last_seen_at: Date | null }>(cluster.databaseUrl, 'SELECT last_seen_at FROM users WHERE id = $1', [userId]))[0]?.last_seen_at?.getTime() ?? null;
  const carolSeenBefore = await lastSeenOf(carol.id);
  a.close();
  c.close();
  await waitFor(() => presenceOnB.some((p) => p.userId === alice.id && p.status === 'offline'), 15_000, 'alice offline');
  // Carol did go offline (C stores her last-seen time as it publishes the change), so the change
  // was there to be delivered; a second later it still has not reached bob, as alice's did.
  await waitFor(async () => (await lastSeenOf(carol.id)) !== carolSeenBefore, 15_000, 'carol offline, stored by C');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(presenceOnB.filter((p) => p.userId === carol.id).map((p) => p.status)).toEqual(['online']);
});

it('logout on one instance closes that session\'s sockets on the others', async () => {
  const [A, B, C] = cluster.instances.map((instance) => instance.url) as [string, string, string];
  const erin = await signUp(A, 'erin');
  const onB = clusterClient(B, erin.cookie);
  const onC = clusterClient(C, erin.cookie);
  clients.push(onB, onC);
  const streams = [watchInbox(onB), watchInbox(onC)];
  await waitFor(() => streams.every((stream) => stream.state.started), 10_000, 'streams');
  const closed = [onB, onC].map((client) => new Promise<number>((resolve) => client.sockets[0]!.once('close', (code) => resolve(code))));
  await httpClient(A, erin.cookie).auth.logout.mutate();
  expect(await Promise.all(closed)).toEqual([4001, 4001]);
});
