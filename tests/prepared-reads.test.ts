/**
 * The prepared reads of a connection's start (db/prepared.ts) read only what is committed: on
 * SQLite they run synchronously while no one holds the pool's one connection, and otherwise wait
 * for it like any query.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Session } from '../src/server/db/entities.js';
import { dateOf, jsonOf, preparedReadsOf } from '../src/server/db/prepared.js';
import { inTransaction } from '../src/server/db/transactions.js';
import { createTestApp, type TestApp } from './helpers.js';

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(async () => {
  await app.close();
});

const SESSIONS_OF = 'SELECT id AS "id" FROM sessions WHERE user_id = ?';

it('waits for a transaction holding the connection and never sees what it rolled back', async () => {
  const alice = await app.user('alice');
  const reads = preparedReadsOf(app.orm);
  const before = await reads.all<{ id: string }>(SESSIONS_OF, [alice.id]);
  let readDuringTransaction: Promise<Array<{ id: string }>> | null = null;
  const rolledBack = inTransaction(app.orm, async (em) => {
    await em.insert(Session, { id: 'f'.repeat(64), user: alice.id, createdAt: new Date(), expiresAt: new Date(Date.now() + 60_000) });
    readDuringTransaction = reads.all<{ id: string }>(SESSIONS_OF, [alice.id]);
    // Let the read run if it could: it must not answer before the transaction ends.
    await new Promise((resolve) => setTimeout(resolve, 20));
    throw new Error('roll back');
  });
  await expect(rolledBack).rejects.toThrow('roll back');
  expect(await readDuringTransaction!).toEqual(before);
});

it('sees what a transaction committed, and statements are reused across calls', async () => {
  const alice = await app.user('alice');
  const reads = preparedReadsOf(app.orm);
  await inTransaction(app.orm, (em) => em.insert(Session, { id: 'e'.repeat(64), user: alice.id, createdAt: new Date(), expiresAt: new Date(Date.now() + 60_000) }));
  const rows = await reads.all<{ id: string }>(SESSIONS_OF, [alice.id]);
  expect(rows.map((row) => row.id)).toContain('e'.repeat(64));
  expect(preparedReadsOf(app.orm)).toBe(reads);
  // Many reads at once: each answers with its own rows.
  const answers = await Promise.all(Array.from({ length: 20 }, () => reads.all<{ id: string }>(SESSIONS_OF, [alice.id])));
  expect(answers.every((answer) => answer.length === rows.length)).toBe(true);
});

it('reads datetimes and JSON as either driver returns them', async () => {
  const alice = await app.user('alice');
  const [row] = await preparedReadsOf(app.orm).all<{ createdAt: unknown }>('SELECT created_at AS "createdAt" FROM users WHERE id = ?', [alice.id]);
  const createdAt = dateOf(row!.createdAt);
  expect(Math.abs(createdAt.getTime() - Date.now())).toBeLessThan(60_000);
  expect(dateOf(createdAt.getTime())).toEqual(createdAt);
  expect(dateOf(String(createdAt.getTime()))).toEqual(createdAt);
  expect(dateOf(createdAt.toISOString())).toEqual(createdAt);
  expect(jsonOf('{"a":1}')).toEqual({ a: 1 });
  expect(jsonOf({ a: 1 })).toEqual({ a: 1 });
});
