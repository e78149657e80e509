import type { AddressInfo } from 'node:net';
import { openBackends } from './backends.js';
import type { EventBus } from './bus/types.js';
import { systemClock, type Clock } from './clock.js';
import { defaultConfig, type Config } from './config.js';
import type { AppDeps } from './context.js';
import { DatabaseUnreachableError } from './db/connect.js';
import { openOrmFromConfig, type Orm } from './db/orm.js';
import { SchemaError } from './db/schema.js';
import { createHttpServer } from './http/server.js';
import { createRequestIdentity, type IdentityOptions, type IdentityResolver, type ResolveRequestIdentity } from './integration/identity.js';
import { createLogger, logFormatFor, type Logger } from './logger.js';
import { settlesWithin } from './settles-within.js';
import { countDeliveries, createMetrics } from './metrics.js';
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
  /**
   * Your app's users instead of ours: maps a request to `{ externalId, name, avatarUrl? }` or null.
   * Without it, the built-in password accounts and session cookie are used.
   */
  identity?: IdentityOptions | IdentityResolver;
};

export type RealtimeServer = {
  deps: AppDeps;
  server: ReturnType<typeof createHttpServer>['server'];
  /** Resolves a request's identity as this server does (host resolver or built-in sessions). */
  identityOf: ResolveRequestIdentity;
  /** Starts listening; port 0 picks a free port. */
  listen(port?: number, host?: string): Promise<AddressInfo & { url: string }>;
  /** Closes every socket, waits for pending sends to commit, then closes the database. */
  close(): Promise<void>;
};

/** Builds the whole server (database, bus, services, HTTP + WebSocket) without listening yet. */
export async function createServer(options: CreateServerOptions = {}): Promise<RealtimeServer> {
  const config = defaultConfig(options.config);
  const logger = options.logger ?? createLogger(config.logLevel, logFormatFor(config.env));
  const clock = options.clock ?? systemClock;
  // Redis first: a deployment missing it fails before touching the database.
  const backends = options.bus ? null : await openBackends(config, clock, logger);
  let orm: Orm;
  try {
    orm =
      options.orm ??
      (await openOrmFromConfig(config, logger).catch((error: unknown) => {
        // A SQLite file that cannot be opened: one line naming DATABASE_PATH (PostgreSQL and schema
        // errors name their own variable already).
        if (config.databaseUrl || error instanceof SchemaError || error instanceof DatabaseUnreachableError) throw error;
        throw databaseOpenError(config.databasePath, error);
      }));
  } catch (error) {
    await backends?.close();
    throw error;
  }
  const metrics = createMetrics();
  const bus = countDeliveries(options.bus ?? backends!.bus, metrics);
  const base = { orm, bus, clock, config, logger, metrics };
  const services = createServices(base, {
    rateLimits: options.rateLimits,
    rateLimiterBackend: options.rateLimiterBackend ?? backends?.rateLimiterBackend,
    typingStore: options.typingStore ?? backends?.typingStore,
    presenceStore: options.presenceStore ?? backends?.presenceStore,
  });
  const deps: AppDeps = { ...base, services };
  const identityOf = createRequestIdentity(deps, options.identity);
  const http = createHttpServer(deps, { staticDir: options.staticDir ?? null, identityOf, readiness: backends?.readiness });

  return {
    deps,
    server: http.server,
    identityOf,
    async listen(port = config.port, host = config.host) {
      const address = await http.listen(port, host);
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      return { ...address, url: `http://${shownHost}:${address.port}` };
    },
    async close() {
      await http.close();
      // Every send is stored. Its publication may wait for Redis (queued while it reconnects):
      // after a grace it is left behind, so a supervisor's grace is not spent on reconnect
      // retries; clients replay what they missed from the database when they reconnect.
      await services.messages.writer.committed();
      if (!(await settlesWithin(services.messages.writer.idle(), SHUTDOWN_PUBLISH_GRACE_MS))) {
        logger.warn('shutting down with publications still waiting for Redis: left behind (clients replay them)');
      }
      await services.dispose();
      if (backends) await backends.close();
      else await bus.close();
      if (!options.orm) await orm.close();
    },
  };
}

/** How long shutdown waits for queued publications before dropping them (see `close`). */
const SHUTDOWN_PUBLISH_GRACE_MS = 3_000;
