/**
 * Setup of the `postgresql` vitest project, run before each test file: a fresh database for the
 * file, dropped after it (with its connections: WITH (FORCE)).
 */
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { databaseUrl, POSTGRES_ADMIN_URL, postgresQuery } from '../store.js';

const database = `rt_test_${process.pid}_${randomBytes(4).toString('hex')}`;
await postgresQuery(POSTGRES_ADMIN_URL, `CREATE DATABASE ${database}`);
process.env.TEST_DATABASE_URL = databaseUrl(database);

afterAll(async () => {
  await postgresQuery(POSTGRES_ADMIN_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});
