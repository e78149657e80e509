import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it, vi } from 'vitest';
import { startCheckpointer } from '../src/server/db/checkpointer.js';
import { checkpointerOf, openOrm, type Orm } from '../src/server/db/orm.js';

const dir = mkdtempSync(join(tmpdir(), 'realtime-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `db-${++files}.sqlite`);

const pragma = async (orm: Orm, name: string) => {
  const [row] = await orm.em.fork().execute<Array<Record<string, unknown>>>(`pragma ${name}`);
  return Object.values(row!)[0];
};

/** Writes `rows` rows of ~1 KB in one statement each time: pages for the WAL. */
async function write(orm: Orm, rows: number) {
  const connection = orm.em.getConnection();
  await connection.execute('create table if not exists filler (id integer primary key, body text)');
  for (let i = 0; i < rows; i += 50) {
    const count = Math.min(50, rows - i);
    await connection.execute(`insert into filler (body) values ${new Array(count).fill('(?)').join(',')}`, new Array(count).fill('x'.repeat(1000)));
  }
}

it('takes WAL checkpoints off the server connection: autocheckpoint is off and a worker copies the WAL into the database', async () => {
  const dbPath = freshPath();
  const orm = await openOrm({ dbPath, backgroundCheckpoints: { intervalMs: 20 } });
  expect(await pragma(orm, 'wal_autocheckpoint')).toBe(0);
  const checkpointer = checkpointerOf(orm)!;
  expect(checkpointer).toBeDefined();

  const before = statSync(dbPath).size;
  await write(orm, 2_000);
  // Without a checkpoint the rows live in the -wal file only; the worker's periodic one moves them.
  await vi.waitFor(() => expect(statSync(dbPath).size).toBeGreaterThan(before + 1_000_000), { timeout: 5_000, interval: 20 });
  const stats = await checkpointer.checkpointNow();
  expect(stats.checkpoints).toBeGreaterThan(1);
  // The worker copied the bulk: at least 1 MB of the ~2 MB (4 KiB pages). How much more depends on
  // how busy the machine is: the server connection's finishes copy the rest (CI once saw 400).
  expect(stats.framesCopied).toBeGreaterThanOrEqual(256);

  // close() stops the worker first, so the server's connection is the last one and SQLite's
  // final checkpoint folds and removes the WAL; every row is in the database file.
  await orm.close();
  expect(existsSync(`${dbPath}-wal`)).toBe(false);
  const reader = new Database(dbPath, { readonly: true });
  expect(reader.prepare('select count(*) as n from filler').get()).toEqual({ n: 2_000 });
  reader.close();
});

it('keeps the WAL bounded under steady writes: the worker copies the bulk, the server connection the small rest, and the WAL starts over', async () => {
  const dbPath = freshPath();
  const orm = await openOrm({ dbPath, backgroundCheckpoints: { intervalMs: 10, restartBytes: 2 ** 30 } });
  const checkpointer = checkpointerOf(orm)!;
  const connection = orm.em.getConnection();
  await connection.execute('create table filler (id integer primary key, body text)');
  // Commits back to back for a second, yielding to the event loop between them (as a server does).
  let rows = 0;
  const until = Date.now() + 1_000;
  while (Date.now() < until) {
    await connection.execute('insert into filler (body) values (?), (?), (?), (?)', new Array(4).fill('x'.repeat(1000)));
    rows += 4;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const stats = await checkpointer.checkpointNow();
  // Commits kept landing while the worker copied: the rests went to the server connection.
  expect(stats.finishes).toBeGreaterThan(0);
  expect(stats.restarts).toBe(0);
  // Each commit of four 1 KB rows appends about two pages: the worker copied most of them, and
  // the WAL, which would hold them all if it never started over, holds a small part.
  expect(stats.framesCopied).toBeGreaterThan(rows / 4);
  expect(stats.walFrames).toBeLessThan(rows / 8);
  await orm.close();
});

it('restarts a WAL that outgrew restartBytes, so the next commit writes it from its start again', async () => {
  const dbPath = freshPath();
  // A long interval: only checkpointNow() runs here.
  const orm = await openOrm({ dbPath, backgroundCheckpoints: { intervalMs: 60_000, restartBytes: 64 * 1024 } });
  const checkpointer = checkpointerOf(orm)!;
  await write(orm, 500);
  const grown = (await checkpointer.checkpointNow()).walFrames;
  expect(grown).toBeGreaterThan(100);
  expect((await checkpointer.checkpointNow()).restarts).toBeGreaterThanOrEqual(1);
  await write(orm, 10);
  expect((await checkpointer.checkpointNow()).walFrames).toBeLessThan(grown / 4);
  await orm.close();
});

it('refuses bad options and a database not in WAL mode; openOrm then leaves checkpoints to SQLite', async () => {
  await expect(startCheckpointer({ dbPath: freshPath(), intervalMs: 0, finish: async () => {}, onFailure() {} })).rejects.toThrow(/intervalMs must be a positive number/);
  await expect(startCheckpointer({ dbPath: join(dir, 'missing.sqlite'), finish: async () => {}, onFailure() {} })).rejects.toThrow();
  const rollback = freshPath();
  new Database(rollback).exec('create table t (x)');
  await expect(startCheckpointer({ dbPath: rollback, finish: async () => {}, onFailure() {} })).rejects.toThrow(/not in WAL mode/);

  const errors: unknown[] = [];
  const orm = await openOrm({ dbPath: freshPath(), backgroundCheckpoints: { intervalMs: -1 }, logger: { error: (...args: unknown[]) => void errors.push(args) } });
  expect(errors).toHaveLength(1);
  expect(checkpointerOf(orm)).toBeUndefined();
  expect(await pragma(orm, 'wal_autocheckpoint')).toBe(1000);
  await write(orm, 100);
  await orm.close();
});

it('runs no worker for an in-memory database or when turned off', async () => {
  const memory = await openOrm({ dbPath: ':memory:' });
  expect(checkpointerOf(memory)).toBeUndefined();
  await memory.close();
  const off = await openOrm({ dbPath: freshPath(), backgroundCheckpoints: false });
  expect(checkpointerOf(off)).toBeUndefined();
  expect(await pragma(off, 'wal_autocheckpoint')).toBe(1000);
  await off.close();
});
