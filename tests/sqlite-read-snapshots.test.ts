import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openOrm } from '../src/server/db/orm.js';
import { preparedReadsOf } from '../src/server/db/prepared.js';
import { inTransaction } from '../src/server/db/transactions.js';
/**
 * On SQLite, reads run in one turn of the event loop share one read transaction (db/prepared.ts):
 * WAL mode takes and drops a read lock per statement otherwise. These check the three ways it
 * could go wrong: a write held back in it, the ORM finding a transaction open, and a snapshot that
 * outlives its turn (it would hold back checkpoints and, read later, be stale).
 */
describe('reads of one turn share a read transaction (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'realtime-prepared-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const bodies = 'SELECT body AS "body" FROM notes ORDER BY id';

  async function fileApp() {
    const dbPath = join(dir, `db-${++files}.sqlite`);
    const orm = await openOrm({ dbPath, backgroundCheckpoints: false });
    const connection = orm.em.getConnection();
    await connection.execute('create table notes (id integer primary key, body text not null)');
    await connection.execute(`insert into notes (body) values ('first')`);
    // Another connection to the same file, as the checkpoint worker or a second process has.
    // No busy wait: a lock it cannot take is reported at once.
    const observer = new Database(dbPath, { timeout: 0 });
    const reads = preparedReadsOf(orm);
    // The first read borrows the connection from the pool; later ones run at once while it is free.
    await reads.all(bodies, []);
    await new Promise((resolve) => setImmediate(resolve));
    return { orm, observer, reads, async close() { observer.close(); await orm.close(); } };
  }

  it('commits a write made after reads of the same turn at once, not when the turn ends', async () => {
    const { observer, reads, close } = await fileApp();
    try {
      // Nothing awaited between these calls: they run in the same turn.
      const read = reads.all<{ body: string }>(bodies, []);
      const written = reads.all<{ id: number }>(`UPDATE notes SET body = 'second' WHERE id = 1 RETURNING id AS "id"`, []);
      const readAfter = reads.all<{ body: string }>(bodies, []);
      // Still in that turn: another connection already sees the write committed.
      expect(observer.prepare('select body from notes').all()).toEqual([{ body: 'second' }]);
      expect(await read).toEqual([{ body: 'first' }]);
      expect(await written).toEqual([{ id: 1 }]);
      expect(await readAfter).toEqual([{ body: 'second' }]);
    } finally {
      await close();
    }
  });

  it('lets an ORM transaction start right after reads of the same turn, and later reads see what it committed', async () => {
    const { orm, reads, close } = await fileApp();
    try {
      const read = reads.all<{ body: string }>(bodies, []);
      const committed = inTransaction(orm, (em) => em.getConnection().execute(`insert into notes (body) values ('from the ORM')`, [], 'run', em.getTransactionContext()));
      await expect(committed).resolves.toBeDefined();
      expect(await read).toEqual([{ body: 'first' }]);
      expect(await reads.all<{ body: string }>(bodies, [])).toEqual([{ body: 'first' }, { body: 'from the ORM' }]);
    } finally {
      await close();
    }
  });

  it('ends the read transaction with the turn: a checkpoint that needs every reader gone then succeeds', async () => {
    const { observer, reads, close } = await fileApp();
    try {
      observer.prepare(`insert into notes (body) values ('in the WAL')`).run();
      expect(await reads.all<{ body: string }>(bodies, [])).toHaveLength(2);
      // Later in the same turn (promise jobs) the snapshot is still held: TRUNCATE must wait for it.
      expect(observer.pragma('wal_checkpoint(TRUNCATE)')).toEqual([expect.objectContaining({ busy: 1 })]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(observer.pragma('wal_checkpoint(TRUNCATE)')).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
      // A new turn reads afresh: a write from another connection is seen.
      observer.prepare(`insert into notes (body) values ('later')`).run();
      expect(await reads.all<{ body: string }>(bodies, [])).toHaveLength(3);
    } finally {
      await close();
    }
  });
});
