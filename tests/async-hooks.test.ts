import { spawn } from 'node:child_process';
import type { RequiredEntityData } from '@mikro-orm/core';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Membership, Message, Notification, User, type UserEntity } from '../src/server/db/entities.js';
import { inTransaction } from '../src/server/db/transactions.js';
import { insertReturningIds } from '../src/server/db/writes.js';
import { onPostgres } from './store.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * MikroORM enters an AsyncLocalStorage in `em.flush()`, `em.transactional()`, `em.findAndCount()`
 * and `RequestContext.create()`; once any is entered, Node keeps async hooks on for the whole
 * process (every promise pays for them). The server must never enter one. Checked in a fresh
 * process: vitest's own worker may already have hooks on.
 */
describe('async hooks', () => {
  it('stay off in a server process that ran every writing flow', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/async-hooks-flows.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, `fixture failed:\n${stderr}\n${stdout}`).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      atStart: number;
      afterFlows: number;
      afterClose: number;
      control: number;
      steps: string[];
    };
    expect(report.steps).toEqual(
      expect.arrayContaining([
        'demo seed',
        'register dan',
        'register taken name (CONFLICT)',
        'login dan',
        'logout',
        'direct conversation',
        'idempotent retry',
        'conflicting clientMessageId (CONFLICT)',
        'concurrent sends',
        'offline notification',
        'mark read',
        'group create with invitation',
        'group invite',
        'invitation accepted',
        'invitation declined',
        'remove member',
        'owner leaves, ownership handed over',
        'last member leaves, group deleted',
        'notification push and mark read',
        'typing start',
        'typing stop',
        'presence offline stored',
      ]),
    );
    expect(report).toMatchObject({ atStart: 0, afterFlows: 0, afterClose: 0 });
    // The probe works: entering an AsyncLocalStorage at the very end turns it on.
    expect(report.control).toBeGreaterThan(0);
  });
});

describe('inTransaction', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await createTestApp();
  });
  afterEach(async () => {
    await app.close();
  });

  const newUser = (username: string): RequiredEntityData<UserEntity> => ({ username, passwordHash: 'x', createdAt: new Date() });

  it('commits what the callback wrote and returns its result', async () => {
    const id = await inTransaction(app.orm, async (em) => {
      expect(em.isInTransaction()).toBe(true);
      return Number(await em.insert(User, newUser('committed')));
    });
    expect(await app.orm.em.fork().findOne(User, { id })).toMatchObject({ username: 'committed' });
  });

  it('runs every kind of query through the fork inside the transaction: a rollback undoes them all', async () => {
    const keptId = Number(await app.orm.em.fork().insert(User, newUser('kept')));
    const failure = new Error('boom');
    await expect(
      inTransaction(app.orm, async (em) => {
        const userId = Number(await em.insert(User, newUser('inserted')));
        await em.insertMany<UserEntity>(User, [newUser('many-1'), newUser('many-2')]);
        await em.execute('INSERT INTO conversations (kind, created_at) VALUES (?, ?)', ['group', em.getPlatform().processDateProperty(new Date())]);
        const [conversation] = await em.execute<Array<{ id: number }>>('SELECT max(id) AS id FROM conversations');
        await em.createQueryBuilder(Membership).insert({ conversation: conversation!.id, user: userId, role: 'member', joinedAt: new Date(), lastReadSeq: 0 }).execute();
        await insertReturningIds(em, Message, [
          { conversation: conversation!.id, seq: 1, sender: userId, content: 'hi', clientMessageId: 'c1', createdAt: new Date() },
        ]);
        await insertReturningIds(em, Notification, [
          { user: userId, type: 'system', content: { title: 't' }, conversationId: null, groupId: null, createdAt: new Date(), readAt: null },
        ]);
        await em.nativeUpdate(User, { id: keptId }, { username: 'renamed' });
        // Reads through the fork see the uncommitted writes: they run on the transaction's connection.
        expect(await em.count(User, {})).toBe(4);
        expect((await em.findOneOrFail(User, { id: keptId })).username).toBe('renamed');
        expect(await em.count(Membership, { user: userId })).toBe(1);
        expect(await em.count(Message, {})).toBe(1);
        expect(await em.nativeDelete(User, { id: keptId })).toBe(1);
        throw failure;
      }),
    ).rejects.toBe(failure);

    const em = app.orm.em.fork();
    expect((await em.find(User, {})).map((user) => user.username)).toEqual(['kept']);
    for (const table of ['conversations', 'memberships', 'messages', 'notifications']) expect(await app.count(table)).toBe(0);
  });

  it('rolls back a failing statement together with what came before it, and rethrows its error', async () => {
    await app.orm.em.fork().insert(User, newUser('taken'));
    const error = await inTransaction(app.orm, async (em) => {
      await em.insert(User, newUser('first'));
      await em.insert(User, newUser('taken'));
    }).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('UniqueConstraintViolationException');
    expect((await app.orm.em.fork().find(User, {})).map((user) => user.username)).toEqual(['taken']);
  });

  it('refuses unit-of-work writes, which it would never flush, and rolls back', async () => {
    await expect(
      inTransaction(app.orm, async (em) => {
        await em.insert(User, newUser('before'));
        em.create(User, newUser('never-flushed'));
      }),
    ).rejects.toThrow(/does not flush/);
    expect(await app.count('users')).toBe(0);
  });

  it('nests with a savepoint when given an entity manager that is already in a transaction', async () => {
    await inTransaction(app.orm, async (outer) => {
      await outer.insert(User, newUser('outer'));
      await expect(
        inTransaction({ em: outer }, async (inner) => {
          await inner.insert(User, newUser('inner-undone'));
          expect(await inner.count(User, {})).toBe(2);
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
      await inTransaction({ em: outer }, (inner) => inner.insert(User, newUser('inner-kept')));
      expect(await outer.count(User, {})).toBe(2);
    });
    expect((await app.orm.em.fork().find(User, {}, { orderBy: { id: 'asc' } })).map((user) => user.username)).toEqual(['outer', 'inner-kept']);
  });

  // SQLite: one pooled connection, so they queue; PostgreSQL: one connection each, isolated.
  it(onPostgres ? 'isolates concurrent transactions on their own connections' : 'serializes concurrent transactions on the single connection', async () => {
    const ids = await Promise.all(
      ['t1', 't2', 't3'].map((name) =>
        inTransaction(app.orm, async (em) => {
          const id = Number(await em.insert(User, newUser(name)));
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (onPostgres) {
            expect(await em.count(User, { id })).toBe(1);
            expect(await app.orm.em.fork().count(User, { id })).toBe(0);
          } else {
            expect(await em.count(User, {})).toBe(id);
          }
          return id;
        }),
      ),
    );
    expect(ids.sort((a, b) => a - b)).toEqual([1, 2, 3]);
  });
});

describe('insertReturningIds', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await createTestApp();
  });
  afterEach(async () => {
    await app.close();
  });

  const row = (userId: number, title: string) => ({ user: userId, type: 'system', content: { title }, conversationId: null, groupId: null, createdAt: new Date(), readAt: null });

  it('returns every row id in row order, across several statements', async () => {
    const userId = Number(await app.orm.em.fork().insert(User, { username: 'u', passwordHash: 'x', createdAt: new Date() }));
    const titles = ['a', 'b', 'c', 'd', 'e'];
    const ids = await insertReturningIds(app.orm.em.fork(), Notification, titles.map((title) => row(userId, title)), 2);
    const stored = await app.orm.em.fork().find(Notification, {}, { orderBy: { id: 'asc' } });
    expect(stored.map((n) => [n.id, n.content.title])).toEqual(ids.map((id, i) => [id, titles[i]]));
  });

  it('stores all rows or none when a later statement fails', async () => {
    const userId = Number(await app.orm.em.fork().insert(User, { username: 'u', passwordHash: 'x', createdAt: new Date() }));
    const rows = [row(userId, 'a'), row(userId, 'b'), row(userId + 1, 'no such user')];
    await expect(insertReturningIds(app.orm.em.fork(), Notification, rows, 2)).rejects.toMatchObject({ name: 'ForeignKeyConstraintViolationException' });
    expect(await app.count('notifications')).toBe(0);
  });
});
