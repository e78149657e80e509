import { User } from './entities.js';
import type { Orm } from './driver.js';

/**
 * Data step for rows made before `users.username_key` existed, run each time the database is
 * opened (`migrateOnOpen`; idempotent and cheap once done). Each row gets its name
 * lower-cased, except a later case-duplicate of an earlier name ("Alice" after "alice"): it
 * keeps NULL (the unique index allows it), still signs in by its exact name, and no new
 * account can take any case of that name.
 */
export async function backfillUsernameKeys(orm: Orm): Promise<number> {
  const em = orm.em.fork();
  if (!(await em.count(User, { usernameKey: null }))) return 0;
  return Number(
    await em.getConnection().execute(
      `UPDATE users SET username_key = lower(username)
       WHERE username_key IS NULL
         AND id = (SELECT min(id) FROM users AS same WHERE lower(same.username) = lower(users.username))
         AND NOT EXISTS (SELECT 1 FROM users AS taken WHERE taken.username_key = lower(users.username))`,
      [],
      'run',
    ).then((result) => (result as { affectedRows?: number }).affectedRows ?? 0),
  );
}
