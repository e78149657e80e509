import type { EntityManager } from '@mikro-orm/core';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Group } from '../src/server/db/entities.js';
import { preparedReadsOf } from '../src/server/db/prepared.js';
import { createTestApp, uid, type TestApp } from './helpers.js';

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await app.close();
});

/** Counts the ORM reads of one entity (every fork shares the prototype). */
function countReads(app: TestApp, entity: unknown, method: 'find' | 'findOne') {
  const prototype = Object.getPrototypeOf(app.orm.em) as EntityManager;
  const spy = vi.spyOn(prototype, method);
  return () => spy.mock.calls.filter(([name]) => name === entity).length;
}

/** Counts the prepared reads (db/prepared.ts) whose SQL reads this table by this column. */
function countPreparedReads(app: TestApp, table: string, column: string) {
  const spy = vi.spyOn(preparedReadsOf(app.orm), 'all');
  const pattern = new RegExp(`FROM ${table} WHERE ${column} = \\?`);
  return () => spy.mock.calls.filter(([sql]) => pattern.test(sql)).length;
}

it('loads the members of a conversation once for all the callers that miss the cache together', async () => {
  const [alice, bob] = [await app.user('alice'), await app.user('bob')];
  const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
  const membership = app.services.membership;
  membership.invalidate(conversationId);
  const reads = countPreparedReads(app, 'memberships', 'conversation_id');
  const results = await Promise.all(Array.from({ length: 50 }, () => membership.members(conversationId)));
  expect(reads()).toBe(1);
  expect(results.every((members) => members.has(alice.id) && members.has(bob.id))).toBe(true);
  expect(membership.cached(conversationId)).toBe(results[0]);

  // A change while a load is in flight: that load is not cached, and later callers read again.
  membership.invalidate(conversationId);
  const early = membership.members(conversationId);
  membership.invalidate(conversationId);
  const late = membership.members(conversationId);
  await Promise.all([early, late]);
  expect(reads()).toBe(3);
  expect(membership.cached(conversationId)).toBe(await late);
});

it('looks a group up once for a burst of first sends to it, and still answers NOT_FOUND for a missing group', async () => {
  const alice = await app.user('alice');
  const { group } = await alice.caller.group.create({ name: 'team' });
  const reads = countReads(app, Group, 'findOne');
  const sent = await Promise.all(
    Array.from({ length: 20 }, (_, i) => alice.caller.message.group({ groupId: group.id, content: `m${i}`, clientMessageId: uid() })),
  );
  expect(new Set(sent.map((message) => message.seq)).size).toBe(20);
  expect(reads()).toBe(1);
  await expect(alice.caller.message.group({ groupId: 999_999, content: 'x', clientMessageId: uid() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
});
