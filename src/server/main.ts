/** `npm start`: reads the environment, opens the database and serves the API and the web app. */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config.js';
import { DatabaseUnreachableError, describeDatabaseUrl } from './db/connect.js';
import { SchemaError } from './db/schema.js';
import { RedisUnavailableError } from './redis/client.js';
import { createServer } from './server.js';
import { seedDemo } from './seed.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

let app;
try {
  app = await createServer({
    config,
    staticDir: fileURLToPath(new URL('../../dist/client', import.meta.url)),
  });
} catch (error) {
  // An unreachable database or a schema this code cannot run on: one clear line, exit non-zero.
  if (error instanceof DatabaseUnreachableError || error instanceof SchemaError || error instanceof RedisUnavailableError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
const { logger } = app.deps;
if (config.seedDemo) {
  const demo = await seedDemo(app.deps);
  if (demo) {
    logger.info({ users: demo.map((user) => user.username) }, 'created demo users, a direct chat and a group');
    console.log(`\nDemo users (SEED_DEMO / development only):\n${demo.map((user) => `  ${user.username} / ${user.password}`).join('\n')}\n`);
  }
}
const { url } = await app.listen();
logger.info({ url, database: config.databaseUrl ? describeDatabaseUrl(config.databaseUrl) : config.databasePath, env: config.env }, `listening on ${url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
