/**
 * Setup of the `postgresql` vitest project, run before each test file: a fresh database for the
 * file, dropped after it (with its connections: WITH (FORCE)).
 */
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { databaseUrl, POSTGRES_ADMIN_URL, postgresQuery } from '../store.js';

/** A run that was killed never dropped its databases: drop those whose test process is gone. */
async function dropAbandoned() {
  const rows = await postgresQuery<{ datname: string }>(POSTGRES_ADMIN_URL, `SELECT datname FROM pg_database WHERE datname LIKE 'rt\\_test\\_%'`);
  for (const { datname } of rows) {
    const pid = Number(/^rt_test_(\d+)_/.exec(datname)?.[1]);
    if (!pid || processExists(pid)) continue;
    await postgresQuery(POSTGRES_ADMIN_URL, `DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
}

function processExists(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

await dropAbandoned();
const database = `rt_test_${process.pid}_${randomBytes(4).toString('hex')}`;
await postgresQuery(POSTGRES_ADMIN_URL, `CREATE DATABASE ${database}`);
process.env.TEST_DATABASE_URL = databaseUrl(database);

afterAll(async () => {
  await postgresQuery(POSTGRES_ADMIN_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});
