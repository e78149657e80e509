import type { Orm } from '../../db/driver.js';
import { sharedMessageStatements } from './sql.js';
import type { MessageStore } from './types.js';

/**
 * Embedded SQLite: one process, one connection, and SQLite lets one transaction write at a time,
 * so commits already happen in id order and this writer is the only one: sequences can be
 * counted in memory between batches, and the batch needs no lock of its own.
 */
export function createSqliteMessageStore(orm: Orm): MessageStore {
  return {
    soleWriter: true,
    async lockForCommit() {},
    ...sharedMessageStatements(orm),
  };
}
