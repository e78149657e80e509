import type { Orm } from '../../db/driver.js';
import { sharedMessageStatements } from './sql.js';
import type { MessageStore } from './types.js';

/**
 * Embedded SQLite: one process, one connection, and SQLite lets one transaction write at a time,
 * so commits already happen in id order and this writer is the only one that inserts messages:
 * sequences can be counted in memory between batches. A batch is a single INSERT statement (the
 * lookups before it only read), which SQLite applies atomically, so it needs no transaction of
 * its own (BEGIN and COMMIT would be two more statements per batch).
 */
export function createSqliteMessageStore(orm: Orm): MessageStore {
  return {
    soleWriter: true,
    runBatch: (work) => work(orm.em.fork()),
    ...sharedMessageStatements(orm),
  };
}
