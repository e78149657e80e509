import type { AddressInfo } from 'node:net';
import { createMemoryBus } from './bus/memory.js';
import type { EventBus } from './bus/types.js';
import { systemClock, type Clock } from './clock.js';
import { defaultConfig, type Config } from './config.js';
import type { AppDeps } from './context.js';
import { openOrm, type Orm } from './db/orm.js';
import { createHttpServer } from './http/server.js';
import { createLogger, logFormatFor, type Logger } from './logger.js';
import { countDeliveries, createMetrics } from './metrics.js';
import { backfillUsernameKeys } from './db/username-keys.js';
import { createServices } from './services/index.js';
import type { ServiceOptions } from './services/index.js';
import { databaseOpenError } from './startup.js';

/**
 * Every store the server keeps state in can be given here (tests, several instances on shared
 * backends); each one not given is created in memory (the bus, typing, presence, rate limits) or
 * from `config` (the database).
 */
export type CreateServerOptions = ServiceOptions & {
  /** Defaults to the environment-independent defaults; pass `loadConfig()` to read the environment. */
  config?: Partial<Config>;
  orm?: Orm;
  bus?: EventBus;
  clock?: Clock;
  logger?: Logger;
  /** Folder of the built web app to serve, or null for the API only (the default). */
  staticDir?: string | null;
};

export type RealtimeServer = {
  deps: AppDeps;
  server: ReturnType<typeof createHttpServer>['server'];
  /** Starts listening; port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<AddressInfo & { url: string }>;
  /** Closes every socket, waits for pending sends to commit, then closes the database. */
  close(): Promise<void>;
};

/** Builds the whole server (database, bus, services, HTTP + WebSocket) without listening yet. */
export async function createServer(options: CreateServerOptions = {}): Promise<RealtimeServer> {
  const config = defaultConfig(options.config);
  const logger = options.logger ?? createLogger(config.logLevel, logFormatFor(config.env));
  const orm =
    options.orm ??
    (await openOrm({ dbPath: config.databasePath, logger }).catch((error: unknown) => {
      throw databaseOpenError(config.databasePath, error);
    }));
  await backfillUsernameKeys(orm);
  const metrics = createMetrics();
  const bus = countDeliveries(options.bus ?? createMemoryBus(), metrics);
  const base = { orm, bus, clock: options.clock ?? systemClock, config, logger, metrics };
  const services = createServices(base, {
    rateLimits: options.rateLimits,
    rateLimiterBackend: options.rateLimiterBackend,
    typingStore: options.typingStore,
    presenceStore: options.presenceStore,
  });
  const deps: AppDeps = { ...base, services };
  const http = createHttpServer(deps, { staticDir: options.staticDir ?? null });

  return {
    deps,
    server: http.server,
    async listen(port = config.port, host = config.host) {
      const address = await http.listen(port, host);
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      return { ...address, url: `http://${shownHost}:${address.port}` };
    },
    async close() {
      await http.close();
      await services.messages.writer.idle();
      await services.dispose();
      await bus.close();
      if (!options.orm) await orm.close();
    },
  };
}
