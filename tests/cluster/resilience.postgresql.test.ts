/**
 * Instance loss, Redis connection loss and rolling restarts while messages flow, through nginx
 * (PostgreSQL project only: these start their own processes and database).
 */
import { afterEach, expect, it } from 'vitest';
import { openRedis } from '../../src/server/redis/client.js';
import type { PresenceDTO } from '../../src/shared/social.js';
import { REDIS_URL } from '../redis-helpers.js';
import { signUp, waitFor } from '../socket-helpers.js';
import { clusterClient, keepSending, watchConversation, watchInbox, type ClusterClient } from './client.js';
import { startCluster, type Cluster } from './harness.js';

// A short presence hold, so a dead instance's users go offline within seconds here (30 s by default).
const PRESENCE_HOLD_S = 6;
let cluster: Cluster | undefined;
const clients: ClusterClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await cluster?.close();
  cluster = undefined;
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A group of `names`, each signed up and connected through `base` (the balancer unless told). */
async function groupOf(names: string[], base: (name: string) => string) {
  const users = [];
  for (const name of names) {
    const user = await signUp(base(name), name);
    const client = clusterClient(base(name), user.cookie);
    clients.push(client);
    users.push({ ...user, client });
  }
  const [owner, ...rest] = users;
  const { group, invitations } = await owner!.client.client.group.create.mutate({ name: 'g', memberIds: rest.map((user) => user.id) });
  for (const [index, user] of rest.entries()) await user.client.client.group.respond.mutate({ invitationId: invitations[index]!.id, accept: true });
  return { users, group };
}

/** Every subscriber ends with seqs 1…last, each once, and every acknowledged message among them. */
async function expectExactlyOnce(streams: Array<ReturnType<typeof watchConversation>>, acknowledged: Array<{ seq: number }>) {
  const last = Math.max(...acknowledged.map((message) => message.seq));
  await waitFor(() => streams.every((stream) => (stream.seqs().at(-1) ?? 0) >= last), 30_000, 'every stream to catch up').catch((error: Error) => {
    const summary = streams.map((stream) => `last seq ${stream.seqs().at(-1)}, ${stream.seqs().length} seqs`).join('; ');
    const logs = cluster!.instances.map((instance, index) => `--- instance ${index}\n${instance.output().split('\n').filter((line) => /redis|error|warn/i.test(line)).slice(-15).join('\n')}`);
    throw new Error(`${error.message}: acknowledged up to ${last}; ${summary}\n${logs.join('\n')}`);
  });
  for (const stream of streams) expect(stream.seqs()).toEqual(range(1, Math.max(last, stream.seqs().length)));
}

it('kill -9 of an instance mid-conversation: its clients resume through nginx with every acknowledged message once; its users go offline within the bound, then online again', async () => {
  cluster = await startCluster(3, { PRESENCE_HOLD_S: String(PRESENCE_HOLD_S) });
  const balancer = cluster.balancer.url;
  const { users, group } = await groupOf(['alice', 'bob', 'carol'], () => balancer);
  const streams = users.map((user) => watchConversation(user.client, group.conversationId));
  await waitFor(() => streams.every((stream) => stream.state.started), 10_000, 'streams');
  const victim = cluster.indexOf(users[0]!.client.upstreams[0]!);
  expect(victim).toBeGreaterThanOrEqual(0);

  // dave stays on the victim (no balancer to move him); erin watches him from another instance.
  const survivor = (victim + 1) % 3;
  const dave = await signUp(cluster.instances[victim]!.url, 'dave');
  const erin = await signUp(cluster.instances[survivor]!.url, 'erin');
  const daveClient = clusterClient(cluster.instances[victim]!.url, dave.cookie);
  const erinClient = clusterClient(cluster.instances[survivor]!.url, erin.cookie);
  clients.push(daveClient, erinClient);
  const { invitations } = await daveClient.client.group.create.mutate({ name: 'pair', memberIds: [erin.id] });
  await erinClient.client.group.respond.mutate({ invitationId: invitations[0]!.id, accept: true });
  const seen: PresenceDTO[] = [];
  erinClient.client.presence.watch.subscribe({ userIds: [dave.id] }, { onData: (batch) => seen.push(...batch) });
  await waitFor(() => seen.some((p) => p.status === 'online'), 10_000, 'dave online');

  const senders = [keepSending(users[1]!.client, group.id, 'bob'), keepSending(users[2]!.client, group.id, 'carol')];
  await sleep(700);
  await cluster.kill(victim);
  const killedAt = Date.now();
  await sleep(1_500);
  await Promise.all(senders.map((sender) => sender.stop()));
  await expectExactlyOnce(streams, senders.flatMap((sender) => sender.acknowledged));
  // alice's socket was on the victim: she is now on another instance.
  await waitFor(() => users[0]!.client.upstreams.length > 1, 10_000, 'alice to reconnect');
  expect(cluster.indexOf(users[0]!.client.upstreams.at(-1)!)).not.toBe(victim);

  // dave's instance is gone: offline for erin within hold + sweep, then online once it is back.
  await waitFor(() => seen.some((p) => p.status === 'offline'), (PRESENCE_HOLD_S + 10) * 1000, 'dave offline');
  expect(Date.now() - killedAt).toBeLessThan((PRESENCE_HOLD_S + 5 + 3) * 1000);
  await cluster.start(victim);
  await waitFor(() => seen.at(-1)?.status === 'online', 20_000, 'dave online again');
});

it('Redis connections killed (CLIENT KILL) mid-stream: nothing lost or duplicated after recovery', async () => {
  cluster = await startCluster(3);
  const { instances } = cluster;
  const { users, group } = await groupOf(['alice', 'bob', 'carol'], (name) => instances[['alice', 'bob', 'carol'].indexOf(name)]!.url);
  const streams = users.map((user) => watchConversation(user.client, group.conversationId));
  const inboxes = users.map((user) => watchInbox(user.client));
  await waitFor(() => streams.every((stream) => stream.state.started) && inboxes.every((inbox) => inbox.state.started), 10_000, 'streams');

  const senders = users.map((user) => keepSending(user.client, group.id, user.username));
  await sleep(500);
  const admin = await openRedis({ url: REDIS_URL });
  const list = (await admin.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => / name=\S+ /.test(line) && line.includes(`name=${cluster!.redisPrefix}`))
    .map((line) => /(?:^| )id=(\d+)/.exec(line)![1]!);
  expect(ids.length).toBe(9); // publisher, subscriber and commands of each instance
  for (const id of ids) await admin.client('KILL', 'ID', id);
  admin.disconnect();
  await sleep(1_500);
  await Promise.all(senders.map((sender) => sender.stop()));

  const acknowledged = senders.flatMap((sender) => sender.acknowledged);
  await expectExactlyOnce(streams, acknowledged);
  const last = Math.max(...acknowledged.map((message) => message.seq));
  // Inboxes: every message of the group once (by id), including the first batch before the kill.
  await waitFor(() => inboxes.every((inbox) => inbox.messageIds().length >= last), 20_000, 'inboxes').catch((error: Error) => {
    const missing = inboxes.map((inbox) => acknowledged.filter((message) => !inbox.messageIds().includes(message.id)).map((message) => `${message.id}/${message.seq}`));
    const logs = cluster!.instances.map((instance, index) => `--- instance ${index}\n${instance.output().split('\n').filter((line) => /redis|error|warn/i.test(line)).slice(-15).join('\n')}`);
    throw new Error(`${error.message}: ${last} messages; counts ${inboxes.map((inbox) => inbox.messageIds().length).join(', ')}; missing acknowledged (id/seq) ${JSON.stringify(missing)}\n${logs.join('\n')}`);
  });
  for (const inbox of inboxes) {
    expect(new Set(inbox.messageIds()).size).toBe(inbox.messageIds().length);
    expect(inbox.messageIds().length).toBe(last);
  }
});

it('rolling restart of all three instances while messages flow: zero lost, zero duplicated', async () => {
  cluster = await startCluster(3);
  const balancer = cluster.balancer.url;
  const { users, group } = await groupOf(['alice', 'bob', 'carol'], () => balancer);
  const streams = users.map((user) => watchConversation(user.client, group.conversationId));
  await waitFor(() => streams.every((stream) => stream.state.started), 10_000, 'streams');
  const senders = [keepSending(users[0]!.client, group.id, 'alice'), keepSending(users[1]!.client, group.id, 'bob')];
  for (const index of [0, 1, 2]) {
    await sleep(500);
    expect(await cluster.stop(index)).toBe(0);
    await cluster.start(index);
  }
  await sleep(500);
  await Promise.all(senders.map((sender) => sender.stop()));
  await expectExactlyOnce(streams, senders.flatMap((sender) => sender.acknowledged));
  // Every client was moved at least once (each instance restarted).
  for (const user of users) expect(user.client.upstreams.length).toBeGreaterThan(1);
});
