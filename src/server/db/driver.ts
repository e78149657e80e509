/**
 * The one place that names the database driver. Everything else imports the ORM's driver-bound
 * types from here, so running on another database (PostgreSQL for several instances) is a change
 * to this file and `orm.ts`, not to every service.
 *
 * SQLite through `better-sqlite3`: SQLite is a library inside the process, and this driver calls
 * it synchronously. The `sqlite3` driver runs every statement on libuv's thread pool instead, and
 * its result waits for the event loop's next poll: under load each group commit waited for one or
 * two busy turns of the loop (BENCHMARKS.md, "What each change bought").
 */
export { MikroORM, EntityManager } from '@mikro-orm/better-sqlite';
export type { Knex } from '@mikro-orm/better-sqlite';
