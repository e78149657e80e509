import { Utils, type EntityData, type EntityDictionary, type EntityName } from '@mikro-orm/core';
import type { EntityManager } from './driver.js';
import { inTransaction } from './transactions.js';

/**
 * Multi-row INSERTs (no unit of work, no flush) returning each row's generated id, in row order.
 * `em.insertMany` cannot be used for that on SQLite: it returns only the last id. Rows go in
 * statements of `batchSize` (MikroORM's flush batch size by default, which keeps clear of
 * SQLite's bound-parameter limit); several statements run in one transaction, so either every
 * row is stored or none is, as with a flush. Runs in the entity manager's transaction, if any.
 * Database errors arrive converted (e.g. UniqueConstraintViolationException), as from `em.insert`.
 */
export async function insertReturningIds<T extends { id: number }>(
  em: EntityManager,
  entity: EntityName<T>,
  rows: ReadonlyArray<EntityData<T>>,
  batchSize: number = em.config.get('batchSize'),
): Promise<number[]> {
  if (rows.length === 0) return [];
  if (rows.length > batchSize && !em.isInTransaction()) {
    return inTransaction({ em }, (tx) => insertReturningIds(tx, entity, rows, batchSize));
  }
  const entityName = Utils.className(entity);
  const ids: number[] = [];
  for (let start = 0; start < rows.length; start += batchSize) {
    const chunk = rows.slice(start, start + batchSize) as EntityDictionary<T>[];
    const result = await em.getDriver().nativeInsertMany<T>(entityName, chunk, { ctx: em.getTransactionContext() });
    const returned = result.rows ?? [];
    if (returned.length !== chunk.length) throw new Error(`insert returned ${returned.length} ids for ${chunk.length} rows`);
    for (const row of returned) ids.push(Number(row.id));
  }
  return ids;
}
