import { storeKindOf, type Orm } from '../../db/driver.js';
import { createPostgresqlMessageStore } from './postgresql.js';
import { createSqliteMessageStore } from './sqlite.js';
import type { MessageStore } from './types.js';

export type { Appended, IdempotencyKey, MessageStore, NewMessage, NewMessageRow } from './types.js';

/** The message store of the ORM's driver. */
export function messageStoreFor(orm: Orm): MessageStore {
  return storeKindOf(orm) === 'postgresql' ? createPostgresqlMessageStore(orm) : createSqliteMessageStore(orm);
}
