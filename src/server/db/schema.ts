/**
 * Schema through checked-in migrations (`db/migrations/<driver>/`), never through schema
 * auto-update: what runs in production is what was reviewed. The migration list is imported, not
 * globbed from disk, so the bundled server (`dist/`) carries it.
 */
import type { MigrationObject } from '@mikro-orm/core';
import type { MigrationsOptions } from '@mikro-orm/core';
import type { Migrator } from '@mikro-orm/migrations';
import type { Orm, StoreKind } from './driver.js';
import { backfillUsernameKeys } from './username-keys.js';
import { migrations as postgresqlMigrations } from './migrations/postgresql/index.js';
import { migrations as sqliteMigrations } from './migrations/sqlite/index.js';

export const MIGRATIONS_TABLE = 'mikro_orm_migrations';

/** The table today's code created before migrations existed; its presence marks such a database. */
const LEGACY_MARKER_TABLE = 'users';

export class SchemaError extends Error {}

export function migrationsOf(kind: StoreKind): MigrationObject[] {
  return kind === 'postgresql' ? postgresqlMigrations : sqliteMigrations;
}

export function migrationsConfig(kind: StoreKind): MigrationsOptions {
  return {
    tableName: MIGRATIONS_TABLE,
    migrationsList: migrationsOf(kind),
    // Where `npm run migrate -- create` writes (relative to the working directory: the repository).
    path: `src/server/db/migrations/${kind}`,
    pathTs: `src/server/db/migrations/${kind}`,
    emit: 'ts',
    snapshot: false,
    transactional: true,
    allOrNothing: true,
    silent: true,
  };
}

function migratorOf(orm: Orm): Migrator {
  return orm.getMigrator() as unknown as Migrator;
}

/**
 * Brings a database to the code's schema: refuses one that newer code migrated, adopts one made
 * by the schema auto-update of earlier versions (SQLite), then applies what is pending (or, with
 * `apply: false`, refuses to run on an out-of-date schema).
 */
export async function migrateOnOpen(orm: Orm, kind: StoreKind, { apply, dataSteps = true }: { apply: boolean; dataSteps?: boolean }): Promise<string[]> {
  const migrator = migratorOf(orm);
  await adoptLegacyDatabase(orm, kind, migrator);
  const executed = (await migrator.getExecutedMigrations()).map((row) => row.name);
  const known = new Set(migrationsOf(kind).map((migration) => migration.name));
  const unknown = executed.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SchemaError(
      `The database was migrated by newer code (unknown migrations: ${unknown.join(', ')}); refusing to start. Run the newer version, or restore a backup.`,
    );
  }
  const pending = (await migrator.getPendingMigrations()).map((migration) => migration.name);
  if (pending.length > 0) {
    if (!apply) {
      throw new SchemaError(`The database has pending migrations (${pending.join(', ')}) and MIGRATE_ON_START is false: run \`npm run migrate\` first.`);
    }
    await migrator.up();
  }
  // Data steps, idempotent (and a cheap check once done), for rows older than their column.
  if (dataSteps) await backfillUsernameKeys(orm);
  return pending;
}

/**
 * Versions before migrations created and updated the schema at start (`updateSchema`), and left
 * no migrations table. Such a database gets that same update once, which brings any older shape
 * to the schema the entities describe now, that is the schema after the last migration (the
 * migrations test proves the two equal), and is recorded as having run every migration.
 * Migrations are schema only: a change that must also rewrite rows does it idempotently at
 * start-up (as the username keys do), so this path needs no data step.
 */
async function adoptLegacyDatabase(orm: Orm, kind: StoreKind, migrator: Migrator) {
  if (kind !== 'sqlite') return;
  const connection = orm.em.getConnection();
  const tables = await connection.execute<Array<{ name: string }>>(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)`,
    [LEGACY_MARKER_TABLE, MIGRATIONS_TABLE],
  );
  const names = new Set(tables.map((row) => row.name));
  if (!names.has(LEGACY_MARKER_TABLE) || names.has(MIGRATIONS_TABLE)) return;
  const migrations = migrationsOf(kind);
  if (migrations.length === 0) return;
  await orm.schema.updateSchema({ safe: true });
  const storage = migrator.getStorage();
  await storage.ensureTable();
  for (const migration of migrations) await storage.logMigration({ name: migration.name, context: null });
}

/**
 * Runs `work` holding PostgreSQL's migration lock, so that processes starting together migrate
 * one after the other (the later ones find nothing pending). A session-level advisory lock on a
 * connection of its own, outside the pool: the migrations need the pool's connections meanwhile.
 */
export async function withMigrationLock<T>(orm: Orm, work: () => Promise<T>): Promise<T> {
  type RawConnection = { query(sql: string, params: unknown[]): Promise<unknown> };
  const client = orm.em.getConnection().getKnex().client as {
    acquireRawConnection(): Promise<RawConnection>;
    destroyRawConnection(connection: RawConnection): Promise<void>;
  };
  const connection = await client.acquireRawConnection();
  try {
    await connection.query('SELECT pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK]);
    return await work();
  } finally {
    // Closing the session releases the lock too; unlocking first just says so sooner.
    await connection.query('SELECT pg_advisory_unlock(hashtext($1))', [MIGRATION_LOCK]).catch(() => undefined);
    await client.destroyRawConnection(connection);
  }
}

const MIGRATION_LOCK = 'realtime:migrations';

