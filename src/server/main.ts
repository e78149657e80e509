/** `npm start`: reads the environment, opens the database and serves the API and the web app. */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DatabaseUnreachableError, describeDatabaseUrl } from './db/connect.js';
import { SchemaError } from './db/schema.js';
import { RedisUnavailableError } from './redis/client.js';
import { createServer, type RealtimeServer } from './server.js';
import { seedDemo } from './seed.js';
import { checkDatabasePath, listenError, StartupError } from './startup.js';

/**
 * An operator's mistake (a bad variable, a database that cannot be reached or opened, a schema
 * this code cannot run on, a port in use): one line naming the variable, no stack trace, exit 1.
 */
function fail(error: unknown): never {
  if (error instanceof ConfigError || error instanceof StartupError || error instanceof DatabaseUnreachableError || error instanceof SchemaError || error instanceof RedisUnavailableError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

let config: Config;
let app: RealtimeServer;
try {
  config = loadConfig();
  // Only the default path may create its folder; a set DATABASE_PATH must point into one that exists.
  if (!config.databaseUrl) checkDatabasePath(config.databasePath, { createFolder: process.env.DATABASE_PATH === undefined });
  app = await createServer({
    config,
    staticDir: fileURLToPath(new URL('../../dist/client', import.meta.url)),
  });
} catch (error) {
  fail(error);
}

const { logger } = app.deps;

// Registered before anything is announced: a supervisor that stops the server as soon as it says
// it listens must find the handler in place (a signal before it would kill without closing).
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

if (config.seedDemo) {
  const demo = await seedDemo(app.deps);
  if (demo) {
    logger.info({ users: demo.map((user) => user.username) }, 'created demo users, a direct chat and a group');
    console.log(`\nDemo users (SEED_DEMO / development only):\n${demo.map((user) => `  ${user.username} / ${user.password}`).join('\n')}\n`);
  }
}
let url: string;
try {
  ({ url } = await app.listen());
} catch (error) {
  await app.close().catch(() => undefined);
  fail(listenError(config.port, config.host, error) ?? error);
}
logger.info({ url, database: config.databaseUrl ? describeDatabaseUrl(config.databaseUrl) : config.databasePath, env: config.env }, `listening on ${url}`);

