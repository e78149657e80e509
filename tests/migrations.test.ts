/** The checked-in migrations, on the store this project runs (SQLite or PostgreSQL). */
import { afterEach, expect, it } from 'vitest';
import type { Migrator } from '@mikro-orm/migrations';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOrm, openOrm, type Orm } from '../src/server/db/orm.js';
import { MIGRATIONS_TABLE, migrationsOf, SchemaError } from '../src/server/db/schema.js';
import { freshStoreConfig, TEST_STORE, type TestStore } from './store.js';

let opened: Orm[] = [];
afterEach(async () => {
  await Promise.all(opened.map((orm) => orm.close()));
  opened = [];
});

async function open(store: TestStore, options: { migrate?: boolean } = {}) {
  const orm = await openOrm({ dbPath: store.databasePath, url: store.databaseUrl, schema: store.databaseSchema, backgroundCheckpoints: false, ...options });
  opened.push(orm);
  return orm;
}

/** A store that outlives one ORM: a temporary file on SQLite, a fresh schema on PostgreSQL. */
function persistentStore(): TestStore {
  const store = freshStoreConfig();
  if (!store.databaseUrl) store.databasePath = join(mkdtempSync(join(tmpdir(), 'migrations-')), 'db.sqlite');
  return store;
}

/** SQLite's catalogue: every table and index with the SQL that made it. */
async function sqliteCatalogue(orm: Orm) {
  return orm.em
    .getConnection()
    .execute<Array<{ type: string; name: string; sql: string | null }>>(
      `SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> ? ORDER BY type, name`,
      [MIGRATIONS_TABLE],
    );
}

it(`produces exactly the schema the entities describe on ${TEST_STORE} (no diff)`, async () => {
  const orm = await open(freshStoreConfig());
  const executed = await (orm.getMigrator() as unknown as Migrator).getExecutedMigrations();
  expect(executed.map((row) => row.name)).toEqual(migrationsOf(TEST_STORE).map((migration) => migration.name));
  expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  if (TEST_STORE === 'sqlite') {
    // And statement by statement the same catalogue as the schema the entities create directly.
    const fromEntities = await initOrm('sqlite', { dbPath: ':memory:' });
    opened.push(fromEntities);
    await fromEntities.schema.createSchema();
    expect(await sqliteCatalogue(orm)).toEqual(await sqliteCatalogue(fromEntities));
  }
});

it('refuses a database that newer code migrated, and names the unknown migration', async () => {
  const store = persistentStore();
  const orm = await open(store);
  await orm.em.getConnection().execute(`INSERT INTO ${MIGRATIONS_TABLE} (name) VALUES (?)`, ['Migration29991231000000_from_the_future']);
  await orm.close();
  opened = opened.filter((each) => each !== orm);
  const refused = open(store);
  await expect(refused).rejects.toBeInstanceOf(SchemaError);
  await expect(refused).rejects.toThrow(/newer code.*Migration29991231000000_from_the_future/);
});

it('with migrate: false (MIGRATE_ON_START=false), refuses a database with pending migrations until they are applied', async () => {
  const store = persistentStore();
  const refused = open(store, { migrate: false });
  await expect(refused).rejects.toThrow(/pending migrations .*npm run migrate/);
  // Applied later (as `npm run migrate` does), the same database then opens without applying anything.
  await open(store);
  const again = await open(store, { migrate: false });
  const executed = await (again.getMigrator() as unknown as Migrator).getExecutedMigrations();
  expect(executed.map((row) => row.name)).toEqual(migrationsOf(TEST_STORE).map((migration) => migration.name));
});
