/**
 * The authorization matrix, generated from one table: every procedure × every kind of caller
 * → the expected answer ('OK' or a tRPC error code). Each cell runs against a fresh scenario
 * in one database: an owner's group (with a member, a user the owner blocked, a removed member),
 * a stranger, an anonymous caller and the service identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../src/server/db/entities.js';
import { hashPassword } from '../src/server/services/passwords.js';
import { createTestApp, uid, type TestApp } from './helpers.js';

const ROLES = ['anonymous', 'stranger', 'blocked', 'member', 'removed', 'owner', 'service'] as const;
type Role = (typeof ROLES)[number];
type Expected = 'OK' | 'HIDDEN' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_REQUEST';
type Caller = ReturnType<TestApp['caller']>;
type Scenario = Awaited<ReturnType<typeof buildScenario>>;

const PASSWORD = 'correct horse battery';
let app: TestApp;
let passwordHash: string;
beforeAll(async () => {
  app = await createTestApp();
  passwordHash = await hashPassword(PASSWORD);
});
afterAll(async () => {
  await app.close();
});

/** Fresh users and a group for one cell: users are inserted directly (no password hashing per cell). */
async function buildScenario() {
  const em = app.orm.em.fork();
  const make = async (role: string) => {
    const username = uid(role).replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 32);
    const id = Number(await em.insert(User, { username, usernameKey: username.toLowerCase(), passwordHash, createdAt: new Date() }));
    return { id, username };
  };
  const [owner, member, blocked, removed, stranger, target] = await Promise.all(['owner', 'member', 'blocked', 'removed', 'stranger', 'target'].map(make));
  const { services } = app;
  const group = await services.groups.createWithMembers(owner!.id, 'team', [member!.id, blocked!.id, removed!.id]);
  const groupId = group.groupId!;
  const groupMessage = await services.messages.send(owner!.id, { conversationId: group.id, content: 'hello', clientMessageId: uid() });
  const blockedDirect = await app.converse(owner!, blocked!);
  await services.blocks.block(owner!.id, blocked!.id);
  await services.groups.removeMember(owner!.id, groupId, removed!.id);
  const invitation = await services.groups.invite(owner!.id, groupId, stranger!.id);
  const users = { owner: owner!, member: member!, blocked: blocked!, removed: removed!, stranger: stranger! };
  const callers = Object.fromEntries(
    ROLES.map((role): [Role, Caller] => {
      if (role === 'anonymous') return [role, app.caller()];
      if (role === 'service') return [role, app.caller({ service: true })];
      return [role, app.caller({ user: users[role], sessionId: `session-${users[role].id}` })];
    }),
  ) as Record<Role, Caller>;
  return { ...users, target: target!, groupId, conversationId: group.id, groupMessage, blockedDirect, invitation, callers };
}

type Row = { procedure: string; call: (caller: Caller, s: Scenario) => Promise<unknown>; expect: Record<Role, Expected> };

/** Expected answers in ROLES order: anonymous, stranger, blocked, member, removed, owner, service. */
const row = (procedure: string, call: Row['call'], codes: readonly Expected[]): Row => ({
  procedure,
  call,
  expect: Object.fromEntries(ROLES.map((role, index) => [role, codes[index]!])) as Record<Role, Expected>,
});
const U = 'UNAUTHORIZED';
const F = 'FORBIDDEN';
const N = 'NOT_FOUND';
const B = 'BAD_REQUEST';
const H = 'HIDDEN';
const users: Expected[] = [U, 'OK', 'OK', 'OK', 'OK', 'OK', U];
const groupMembers: Expected[] = [U, N, 'OK', 'OK', N, 'OK', U];
const conversationMembers: Expected[] = [U, F, 'OK', 'OK', F, 'OK', U];
const serviceOnly: Expected[] = [U, F, F, F, F, F, 'OK'];

/** Opens a subscription and ends it at once: what matters is whether it was allowed. */
const opened = async (stream: Promise<AsyncIterable<unknown>>) => void (await (await stream)[Symbol.asyncIterator]().return?.());

/** Whether the watch's first snapshot shows `userId`. */
const sees = async (stream: Promise<AsyncIterable<unknown>>, userId: number) => {
  const iterator = (await stream)[Symbol.asyncIterator]();
  const first = (await iterator.next()).value as Array<{ userId: number }>;
  await iterator.return?.();
  if (!first.some((presence) => presence.userId === userId)) throw { code: 'HIDDEN' };
};

const TABLE: Row[] = [
  row('auth.register', (c) => c.auth.register({ username: uid('new').slice(0, 30), password: PASSWORD }), ['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'OK']),
  row('auth.login', (c, s) => c.auth.login({ username: s.owner.username, password: PASSWORD }), ['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'OK']),
  row('auth.logout', (c) => c.auth.logout(), users),
  row('auth.me', (c) => c.auth.me(), ['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'OK']),
  row('user.search', (c) => c.user.search({ query: 'own' }), users),
  row('user.block', (c, s) => c.user.block({ userId: s.owner.id }), [U, 'OK', 'OK', 'OK', 'OK', B, U]),
  row('user.unblock', (c, s) => c.user.unblock({ userId: s.owner.id }), users),
  row('user.blocked', (c) => c.user.blocked(), users),
  row('conversation.openDirect', (c, s) => c.conversation.openDirect({ userId: s.owner.id }), [U, 'OK', N, 'OK', 'OK', B, U]),
  row('conversation.list', (c) => c.conversation.list(), users),
  row('conversation.history', (c, s) => c.conversation.history({ conversationId: s.conversationId }), conversationMembers),
  row('conversation.events', (c, s) => opened(c.conversation.events({ conversationId: s.conversationId })), conversationMembers),
  row('message.send (group conversation)', (c, s) => c.message.send({ conversationId: s.conversationId, content: 'x', clientMessageId: uid() }), conversationMembers),
  row('message.send (direct chat of owner and blocked)', (c, s) => c.message.send({ conversationId: s.blockedDirect.id, content: 'x', clientMessageId: uid() }), [U, F, F, F, F, 'OK', U]),
  row('message.group', (c, s) => c.message.group({ groupId: s.groupId, content: 'x', clientMessageId: uid() }), groupMembers),
  row('message.read', (c, s) => c.message.read({ messageId: s.groupMessage.id }), groupMembers),
  row('inbox.events', (c) => opened(c.inbox.events({})), users),
  row('typing.start (groupId)', (c, s) => c.typing.start({ groupId: s.groupId }), groupMembers),
  row('typing.stop (conversationId)', (c, s) => c.typing.stop({ conversationId: s.conversationId }), conversationMembers),
  // Users the caller may not see are left out of the watch (no error, so no oracle): 'HIDDEN'.
  row('presence.watch', (c, s) => sees(c.presence.watch({ userIds: [s.owner.id] }), s.owner.id), [U, H, H, 'OK', H, H, U]),
  row('group.create (inviting the owner)', (c, s) => c.group.create({ name: 'new', memberIds: [s.owner.id] }), [U, 'OK', N, 'OK', 'OK', 'OK', U]),
  row('group.invite', (c, s) => c.group.invite({ groupId: s.groupId, userId: s.target.id }), groupMembers),
  row('group.respond', (c, s) => c.group.respond({ invitationId: s.invitation.id, accept: false }), [U, 'OK', N, N, N, N, U]),
  row('group.leave', (c, s) => c.group.leave({ groupId: s.groupId }), groupMembers),
  row('group.removeMember', (c, s) => c.group.removeMember({ groupId: s.groupId, userId: s.member.id }), [U, N, F, F, N, 'OK', U]),
  row('group.members', (c, s) => c.group.members({ groupId: s.groupId }), groupMembers),
  row('group.list', (c) => c.group.list(), users),
  // The trusted service API: the service identity only (a user session is FORBIDDEN, no session UNAUTHORIZED).
  row('service.user', (c) => c.service.user({ externalId: uid('ext'), name: 'Host user' }), serviceOnly),
  row('service.notify', (c, s) => c.service.notify({ user: { userId: s.owner.id }, type: 'like', content: { title: 'liked' } }), serviceOnly),
  row('service.createGroup', (c, s) => c.service.createGroup({ name: 'host group', owner: { userId: s.owner.id }, members: [{ userId: s.member.id }] }), serviceOnly),
  row('service.addMember', (c, s) => c.service.addMember({ groupId: s.groupId, user: { userId: s.target.id } }), serviceOnly),
  row('service.removeMember', (c, s) => c.service.removeMember({ groupId: s.groupId, user: { userId: s.member.id } }), serviceOnly),
  row('service.postSystemMessage', (c, s) => c.service.postSystemMessage({ groupId: s.groupId, content: 'maintenance tonight' }), serviceOnly),
  row('service.deleteUser', (c, s) => c.service.deleteUser({ user: { userId: s.target.id } }), serviceOnly),
  row('notification.push', (c, s) => c.notification.push({ type: 'like', userId: s.owner.id, content: { title: 'liked' } }), [U, F, F, F, F, F, 'OK']),
  row('notification.stream', (c) => opened(c.notification.stream({})), users),
  row('notification.list', (c) => c.notification.list({}), users),
  row('notification.markRead', (c) => c.notification.markRead({ all: true }), users),
];

describe('authorization matrix', () => {
  it('covers every procedure of the router', async () => {
    const { appRouter } = await import('../src/server/routers/index.js');
    const covered = new Set(TABLE.map((r) => r.procedure.split(' ')[0]));
    expect([...covered].sort()).toEqual(Object.keys(appRouter._def.procedures).sort());
  });

  const cells = TABLE.flatMap((r) => ROLES.map((role) => [r.procedure, role, r.expect[role], r] as const));
  it.each(cells)('%s as %s → %s', async (_procedure, role, expected, r) => {
    const scenario = await buildScenario();
    const outcome = await r.call(scenario.callers[role], scenario).then(
      () => 'OK',
      (error: { code?: string }) => error.code ?? String(error),
    );
    expect(outcome).toBe(expected);
  });
});
