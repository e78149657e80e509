import { MikroORM } from '@mikro-orm/sqlite';
import { entities } from './entities.js';

export type Orm = MikroORM;

export type OrmOptions = {
  /** A file path, or `:memory:` for a private in-memory database (tests). */
  dbPath: string;
  debug?: boolean;
};

/**
 * Opens the database and brings its schema up to date (created on first start, altered
 * additively afterwards), with WAL so readers never block the writer.
 */
export async function openOrm({ dbPath, debug = false }: OrmOptions): Promise<Orm> {
  const orm = await MikroORM.init({
    dbName: dbPath,
    entities,
    debug,
    allowGlobalContext: false,
    // One connection: SQLite has a single writer anyway, and pragmas are per connection.
    pool: { min: 1, max: 1 },
  });
  const connection = orm.em.getConnection();
  if (dbPath !== ':memory:') {
    await connection.execute('pragma journal_mode = WAL');
    await connection.execute('pragma synchronous = NORMAL');
  }
  await connection.execute('pragma busy_timeout = 5000');
  await orm.schema.updateSchema({ safe: true });
  return orm;
}
