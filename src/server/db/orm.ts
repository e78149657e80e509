import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { startCheckpointer, type Checkpointer, type CheckpointerOptions } from './checkpointer.js';
import { mikroOrmFor, type Orm, type StoreKind } from './driver.js';
import { entities } from './entities.js';
import { connectWithRetries } from './connect.js';
import { readSqliteEnumChecksCorrectly } from './sqlite-enum-checks.js';
import { migrationsConfig, migrateOnOpen, withMigrationLock } from './schema.js';

export type { Orm } from './driver.js';

export type OrmOptions = {
  /** SQLite: a file path, or `:memory:` for a private in-memory database (tests). Ignored with `url`. */
  dbPath?: string;
  /** PostgreSQL: `postgres://…`; when set, the store is PostgreSQL. */
  url?: string | null;
  /** PostgreSQL schema holding the tables (created by the first migration if missing); default `public`. */
  schema?: string | null;
  /** PostgreSQL pool size (SQLite always uses one connection). */
  poolSize?: number;
  /**
   * Apply pending migrations (the default). `false` refuses to open a database with pending
   * migrations instead. A database migrated by newer code is always refused.
   */
  migrate?: boolean;
  /** Run the data steps after migrating (default true; off only to write a new migration, when the entities are ahead of the schema). */
  dataSteps?: boolean;
  /** How long an unreachable PostgreSQL is retried before `openOrm` fails (ms). */
  connectTimeoutMs?: number;
  debug?: boolean;
  /**
   * WAL checkpoints on a worker thread (`db/checkpointer.ts`) instead of inside commits on the
   * event loop: on by default for a file database; `false` leaves them to SQLite.
   */
  backgroundCheckpoints?: boolean | Pick<CheckpointerOptions, 'intervalMs' | 'restartBytes' | 'finishFrames'>;
  /** Where a failing checkpoint worker and connection retries are reported. */
  logger?: Pick<Logger, 'error'> & Partial<Pick<Logger, 'warn'>>;
};

/** SQLite's own default, restored when the checkpoint worker fails. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Opens the ORM of a store without touching its schema (`npm run migrate`, schema tests). */
export async function initOrm(kind: StoreKind, options: OrmOptions): Promise<Orm> {
  const MikroORM = await mikroOrmFor(kind);
  const common = {
    entities,
    debug: options.debug ?? false,
    allowGlobalContext: false,
    // The schema is the migrations' business: never create a database or tables implicitly.
    ensureDatabase: false,
    migrations: migrationsConfig(kind),
    extensions: [(await import('@mikro-orm/migrations')).Migrator],
  };
  if (kind === 'postgresql') {
    const schema = options.schema ?? undefined;
    return (await MikroORM.init({
      ...common,
      clientUrl: options.url!,
      pool: { min: 0, max: options.poolSize ?? 10 },
      connect: false,
      // The hand-written statements name tables without a schema: the search path finds them.
      // A request waits at most this long for a pooled connection (the database is down or the
      // pool exhausted): it fails with an error instead of hanging.
      driverOptions: { acquireConnectionTimeout: 10_000, ...(schema ? { connection: { options: `-c search_path=${schema}` } } : {}) },
      ...(schema ? { schema } : {}),
    })) as Orm;
  }
  readSqliteEnumChecksCorrectly();
  // One connection: SQLite has a single writer anyway, and pragmas are per connection.
  return (await MikroORM.init({ ...common, dbName: options.dbPath ?? ':memory:', pool: { min: 1, max: 1 } })) as Orm;
}

/**
 * Opens the store the options name (PostgreSQL with `url`, SQLite otherwise) and brings its
 * schema up to date through the checked-in migrations (`db/migrations/`). SQLite runs in WAL so
 * readers never block the writer; `orm.close()` also stops the checkpoint worker (before the
 * connection closes, so SQLite's final checkpoint runs).
 */
export async function openOrm(options: OrmOptions): Promise<Orm> {
  if (options.url) {
    const orm = await initOrm('postgresql', options);
    try {
      await connectWithRetries(orm, options.url, { timeoutMs: options.connectTimeoutMs ?? 30_000, logger: options.logger });
      await withMigrationLock(orm, () => migrateOnOpen(orm, 'postgresql', { apply: options.migrate ?? true, dataSteps: options.dataSteps ?? true }));
    } catch (error) {
      await orm.close(true);
      throw error;
    }
    return orm;
  }
  return openSqlite(options);
}

/** The store the validated configuration names: PostgreSQL when `DATABASE_URL` is set, else SQLite. */
export function openOrmFromConfig(config: Config, logger?: OrmOptions['logger']): Promise<Orm> {
  return openOrm({
    dbPath: config.databasePath,
    url: config.databaseUrl,
    schema: config.databaseSchema,
    poolSize: config.databasePoolSize,
    migrate: config.migrateOnStart,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    logger,
  });
}

async function openSqlite(options: OrmOptions): Promise<Orm> {
  const { dbPath = ':memory:', backgroundCheckpoints = true, logger } = options;
  const orm = await initOrm('sqlite', options);
  const connection = orm.em.getConnection();
  const inFile = dbPath !== ':memory:';
  try {
    if (inFile) {
      await connection.execute('pragma journal_mode = WAL');
      await connection.execute('pragma synchronous = NORMAL');
    }
    await connection.execute('pragma busy_timeout = 5000');
    await migrateOnOpen(orm, 'sqlite', { apply: options.migrate ?? true, dataSteps: options.dataSteps ?? true });
  } catch (error) {
    await orm.close(true);
    throw error;
  }

  if (inFile && backgroundCheckpoints) await checkpointInBackground(orm, dbPath, backgroundCheckpoints, logger);
  return orm;
}

async function checkpointInBackground(orm: Orm, dbPath: string, options: OrmOptions['backgroundCheckpoints'], logger: OrmOptions['logger']) {
  const connection = orm.em.getConnection();
  let checkpointer: Checkpointer;
  try {
    checkpointer = await startCheckpointer({
      dbPath,
      ...(typeof options === 'object' ? options : {}),
      async finish() {
        await connection.execute('pragma wal_checkpoint(PASSIVE)');
      },
      onFailure(error) {
        logger?.error({ err: error }, 'WAL checkpoint worker failed; SQLite checkpoints inside commits again');
        connection.execute(`pragma wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`).catch(() => {});
      },
    });
  } catch (error) {
    logger?.error({ err: error }, 'WAL checkpoint worker did not start; SQLite checkpoints inside commits');
    return;
  }
  try {
    await connection.execute('pragma wal_autocheckpoint = 0');
    // A WAL that grew in a burst is cut back to this size when it starts over.
    await connection.execute(`pragma journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  } catch (error) {
    await checkpointer.stop();
    throw error;
  }
  const close = orm.close.bind(orm);
  orm.close = async (force?: boolean) => {
    await checkpointer.stop();
    return close(force);
  };
  checkpoints.set(orm, checkpointer);
}

const checkpoints = new WeakMap<Orm, Checkpointer>();

/** The checkpoint worker of an ORM opened by `openOrm` on a file, if it runs one (tests, diagnostics). */
export function checkpointerOf(orm: Orm): Checkpointer | undefined {
  return checkpoints.get(orm);
}
