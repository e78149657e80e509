/**
 * Transactions without AsyncLocalStorage. `em.transactional()` runs its callback inside
 * `TransactionContext.create()` (an AsyncLocalStorage.run) and ends with `em.flush()` (the unit
 * of work's own AsyncLocalStorage.run). Node turns async hooks on for the rest of the process the
 * first time any AsyncLocalStorage is entered: every promise then pays for async ids and init
 * hooks. This helper does what `em.begin()` / `em.commit()` / `em.rollback()` do on the
 * connection, minus the flush and the context storage, so the server never enters one.
 *
 * Services therefore write with `em.insert` / `insertReturningIds` / `nativeUpdate` /
 * `nativeDelete` (no unit of work); never `em.create` + `em.flush`.
 */
import type { EntityManager, Knex } from './driver.js';

/** The entity manager handed to `inTransaction` work: a fork whose every query runs in the transaction. */
export type TransactionEm = EntityManager;

/**
 * Runs `work` in a database transaction, with a fresh fork of `orm.em` (pass the ORM, or
 * `{ em }` to fork another entity manager) bound to it: `find`, `count`,
 * `execute`, `insert`, `nativeUpdate`, `nativeDelete` and query builders made through that fork
 * run inside the transaction. Commits when `work` resolves; rolls back and rethrows its error
 * when it rejects. Called with an entity manager that is itself in a transaction, it nests: a
 * savepoint, released or rolled back to.
 *
 * Nothing is flushed: `em.create`/`em.persist` through the fork would be silently lost, so a
 * unit of work left with pending changes fails (and rolls back) instead. With a single pooled
 * connection, `work` must not query through any other entity manager: that query would wait for
 * the connection this transaction holds.
 */
export async function inTransaction<T>(orm: { em: EntityManager }, work: (em: TransactionEm) => Promise<T>): Promise<T> {
  // Inside another transaction, nest with a savepoint (as em.transactional's default propagation):
  // beginning a second top-level one would wait forever for the connection the first one holds.
  const parent = orm.em.getTransactionContext<Knex.Transaction>();
  const em = orm.em.fork();
  const connection = em.getConnection('write');
  const trx = await connection.begin(parent ? { ctx: parent } : {});
  em.setTransactionContext(trx);
  try {
    // As the connection's own `transactional()`: a failing commit rolls back too.
    try {
      const result = await work(em);
      const uow = em.getUnitOfWork();
      if (uow.getPersistStack().size > 0 || uow.getRemoveStack().size > 0) {
        throw new Error('inTransaction does not flush: write with em.insert / nativeUpdate / nativeDelete, not em.create / persist / remove');
      }
      await connection.commit(trx);
      return result;
    } catch (error) {
      await connection.rollback(trx);
      throw error;
    }
  } finally {
    em.resetTransactionContext();
  }
}
