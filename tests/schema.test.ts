import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Conversation, Message, User } from '../src/server/db/entities.js';
import type { Migrator } from '@mikro-orm/migrations';
import { createMemoryBus } from '../src/server/bus/memory.js';
import { systemClock } from '../src/server/clock.js';
import { defaultConfig } from '../src/server/config.js';
import { initOrm, openOrm, type Orm } from '../src/server/db/orm.js';
import { MIGRATIONS_TABLE, migrationsOf } from '../src/server/db/schema.js';
import { createMetrics } from '../src/server/metrics.js';
import { createLogger } from '../src/server/logger.js';
import { createServices } from '../src/server/services/index.js';
import { RELAXED_LIMITS } from './helpers.js';

type IndexRow = { table: string; name: string; columns: string[] };

async function indexes(orm: Orm): Promise<IndexRow[]> {
  const connection = orm.em.getConnection();
  const rows = await connection.execute<Array<{ table: string; name: string }>>(
    `SELECT tbl_name AS "table", name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'`,
  );
  return Promise.all(
    rows.map(async ({ table, name }) => ({
      table,
      name,
      columns: (await connection.execute<Array<{ name: string }>>(`SELECT name FROM pragma_index_info('${name}') ORDER BY seqno`)).map((c) => c.name),
    })),
  );
}

describe('schema', () => {
  let orm: Orm | null = null;
  let dir: string | null = null;
  afterEach(async () => {
    await orm?.close();
    orm = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('has no index that another index of its table already starts with (each costs every write a page)', async () => {
    orm = await openOrm({ dbPath: ':memory:' });
    const all = await indexes(orm);
    expect(all.length).toBeGreaterThan(5);
    const redundant = all.filter((index) =>
      all.some(
        (other) =>
          other !== index &&
          other.table === index.table &&
          other.columns.length > index.columns.length &&
          index.columns.every((column, i) => other.columns[i] === column),
      ),
    );
    expect(redundant.map((index) => `${index.name} (${index.columns.join(', ')})`)).toEqual([]);
  });

  it('indexes messages only where the send path needs it: (conversation, seq) and (clientMessageId, sender)', async () => {
    orm = await openOrm({ dbPath: ':memory:' });
    const messages = (await indexes(orm)).filter((index) => index.table === 'messages').map((index) => index.columns.join(','));
    expect(messages.sort()).toEqual(['client_message_id,sender_id', 'conversation_id,seq']);
  });

  it('drops the indexes an older schema had when it opens a database made before migrations', async () => {
    dir = mkdtempSync(join(tmpdir(), 'schema-'));
    const dbPath = join(dir, 'db.sqlite');
    // A database written by the schema auto-update of 13cad3a (no migrations table), given the
    // indexes an even older schema had.
    copyFileSync('tests/fixtures/legacy-13cad3a.sqlite', dbPath);
    const legacy = new Database(dbPath);
    legacy.exec('CREATE INDEX `messages_conversation_id_index` ON `messages` (`conversation_id`)');
    legacy.exec('CREATE INDEX `messages_sender_id_index` ON `messages` (`sender_id`)');
    legacy.close();
    orm = await openOrm({ dbPath, backgroundCheckpoints: false });
    const names = (await indexes(orm)).filter((index) => index.table === 'messages').map((index) => index.name);
    expect(names).not.toContain('messages_conversation_id_index');
    expect(names).not.toContain('messages_sender_id_index');
  });

  it('still cascades a deleted user to their messages without the sender index', async () => {
    orm = await openOrm({ dbPath: ':memory:' });
    const em = orm.em.fork();
    const now = new Date();
    const alice = await em.insert(User, { username: 'alice', passwordHash: 'x', createdAt: now });
    const bob = await em.insert(User, { username: 'bob', passwordHash: 'x', createdAt: now });
    const conversation = await em.insert(Conversation, { kind: 'group', createdAt: now });
    let seq = 0;
    for (const sender of [alice, bob, alice]) {
      await em.insert(Message, { conversation, seq: ++seq, sender, content: 'hi', clientMessageId: `c${seq}`, createdAt: now });
    }
    expect(await em.nativeDelete(User, { id: alice })).toBe(1);
    const left = await em.find(Message, {}, { orderBy: { seq: 'asc' } });
    expect(left.map((message) => [message.seq, message.sender])).toEqual([[2, bob]]);
  });

  it('upgrades a database made by the schema auto-update of 13cad3a: data kept, first migration recorded, schema as the entities describe', async () => {
    dir = mkdtempSync(join(tmpdir(), 'schema-'));
    const dbPath = join(dir, 'db.sqlite');
    copyFileSync('tests/fixtures/legacy-13cad3a.sqlite', dbPath);
    orm = await openOrm({ dbPath, backgroundCheckpoints: false });
    const executed = await (orm.getMigrator() as unknown as Migrator).getExecutedMigrations();
    expect(executed.map((row) => row.name)).toEqual(migrationsOf('sqlite').map((migration) => migration.name));
    const fromEntities = await initOrm('sqlite', { dbPath: ':memory:' });
    await fromEntities.schema.createSchema();
    const catalogue = (db: Orm) =>
      db.em.getConnection().execute(`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> ? ORDER BY type, name`, [MIGRATIONS_TABLE]);
    expect(await catalogue(orm)).toEqual(await catalogue(fromEntities));
    await fromEntities.close();
    await orm.close();

    // The server runs on it: the old users sign in, the conversation continues its sequence.
    orm = await openOrm({ dbPath, backgroundCheckpoints: false });
    const deps = { orm, bus: createMemoryBus(), clock: systemClock, config: defaultConfig({ env: 'test' }), logger: createLogger('silent'), metrics: createMetrics() };
    const services = createServices(deps, { rateLimits: RELAXED_LIMITS });
    const alice = await services.auth.login({ username: 'alice', password: 'correct horse battery' });
    const [conversation] = await orm.em.fork().find(Conversation, {});
    const history = await orm.em.fork().find(Message, { conversation: conversation!.id }, { orderBy: { seq: 'asc' } });
    expect(history.map((message) => message.content)).toEqual(['hello 1', 'hello 2', 'hello 3']);
    const sent = await services.messages.send(alice.user.id, { conversationId: conversation!.id, content: 'after the upgrade', clientMessageId: 'upgrade-1' });
    expect(sent.seq).toBe(4);
    await services.messages.writer.idle();
    await services.dispose();
  });
});

