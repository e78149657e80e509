/**
 * The one place that names the database drivers. Everything else imports the ORM's driver-neutral
 * SQL types from here, and the store is chosen once, at start, from the validated configuration
 * (`DATABASE_URL` set: PostgreSQL; otherwise the embedded SQLite file).
 *
 * SQLite through `better-sqlite3`: SQLite is a library inside the process, and this driver calls
 * it synchronously. The `sqlite3` driver runs every statement on libuv's thread pool instead, and
 * its result waits for the event loop's next poll: under load each group commit waited for one or
 * two busy turns of the loop (BENCHMARKS.md, "What each change bought").
 *
 * PostgreSQL through `@mikro-orm/postgresql` (node-postgres), loaded only when it is chosen.
 */
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/knex';

export type { Knex } from '@mikro-orm/knex';
export type EntityManager = SqlEntityManager;
export type Orm = MikroORM<AbstractSqlDriver, SqlEntityManager>;

export const STORE_KINDS = ['sqlite', 'postgresql'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Which store an opened ORM talks to (read from its platform, so it cannot disagree with it). */
export function storeKindOf(orm: { config: { getDriver(): object } }): StoreKind {
  return orm.config.getDriver().constructor.name === 'PostgreSqlDriver' ? 'postgresql' : 'sqlite';
}

/** The MikroORM entry point of a store's driver. */
export async function mikroOrmFor(kind: StoreKind): Promise<{ init(options: object): Promise<unknown> }> {
  if (kind === 'postgresql') return (await import('@mikro-orm/postgresql')).MikroORM;
  return (await import('@mikro-orm/better-sqlite')).MikroORM;
}
