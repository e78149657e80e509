import type { Logger } from '../logger.js';
import { startCheckpointer, type Checkpointer, type CheckpointerOptions } from './checkpointer.js';
import { MikroORM } from './driver.js';
import { entities } from './entities.js';

export type Orm = MikroORM;

export type OrmOptions = {
  /** A file path, or `:memory:` for a private in-memory database (tests). */
  dbPath: string;
  debug?: boolean;
  /**
   * WAL checkpoints on a worker thread (`db/checkpointer.ts`) instead of inside commits on the
   * event loop: on by default for a file database; `false` leaves them to SQLite.
   */
  backgroundCheckpoints?: boolean | Pick<CheckpointerOptions, 'intervalMs' | 'restartBytes' | 'finishFrames'>;
  /** Where a failing checkpoint worker is reported. */
  logger?: Pick<Logger, 'error'>;
};

/** SQLite's own default, restored when the checkpoint worker fails. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Opens the database and brings its schema up to date (created on first start, altered
 * additively afterwards), with WAL so readers never block the writer. `orm.close()` also stops
 * the checkpoint worker (before the connection closes, so SQLite's final checkpoint runs).
 */
export async function openOrm({ dbPath, debug = false, backgroundCheckpoints = true, logger }: OrmOptions): Promise<Orm> {
  const orm = await MikroORM.init({
    dbName: dbPath,
    entities,
    debug,
    allowGlobalContext: false,
    // One connection: SQLite has a single writer anyway, and pragmas are per connection.
    pool: { min: 1, max: 1 },
  });
  const connection = orm.em.getConnection();
  const inFile = dbPath !== ':memory:';
  if (inFile) {
    await connection.execute('pragma journal_mode = WAL');
    await connection.execute('pragma synchronous = NORMAL');
  }
  await connection.execute('pragma busy_timeout = 5000');
  await orm.schema.updateSchema({ safe: true });

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
