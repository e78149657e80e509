import type { Redis } from 'ioredis';
import { createMemoryBus } from './bus/memory.js';
import { createRedisBus } from './bus/redis.js';
import type { EventBus } from './bus/types.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { openRedis } from './redis/client.js';
import type { PresenceStore } from './services/presence.js';
import { createRedisPresenceStore } from './services/presence-redis.js';
import type { RateLimiterBackend } from './services/rate-limits.js';
import { redisRateLimiterBuilder } from './services/rate-limits-redis.js';
import type { TypingStore } from './services/typing.js';
import { createRedisTypingStore } from './services/typing-redis.js';

/** Each resolves true when its backend answers (and never rejects). */
export type Readiness = Record<string, () => Promise<boolean>>;

/** How long `/readyz` waits for Redis to answer a PING. */
const REDIS_PING_TIMEOUT_MS = 1_000;

/** The bus and the ephemeral stores; undefined ones are created in memory by the services. */
export type Backends = {
  bus: EventBus;
  typingStore?: TypingStore;
  presenceStore?: PresenceStore;
  rateLimiterBackend?: RateLimiterBackend;
  /** Named checks `/readyz` runs besides the database (`redis` with REDIS_URL; none embedded). */
  readiness: Readiness;
  /** Closes what `openBackends` opened (after the services stopped using it). */
  close(): Promise<void>;
};

/**
 * The one place that chooses the backends from the config: with `REDIS_URL`, the bus, typing,
 * presence and rate limits live on Redis, shared by every instance; without it, in process.
 */
export async function openBackends(config: Config, clock: Clock, logger: Logger): Promise<Backends> {
  if (!config.redisUrl) {
    const bus = createMemoryBus();
    return { bus, readiness: {}, close: () => bus.close() };
  }
  const url = config.redisUrl;
  const open = (role: string, extra = {}) =>
    openRedis({ url, keyPrefix: config.redisPrefix, connectTimeoutMs: config.redisConnectTimeoutMs }, { connectionName: `${config.redisPrefix}${role}`, ...extra });
  // Three connections: a subscriber connection can do nothing else, and publishing on the
  // commands connection would queue fan-out behind slow scripts. The publisher queues while it
  // reconnects (a short blip), so publications after commits go out late but in order rather
  // than lost; after ~20 failed reconnects they fail and streams catch up from the database.
  const clients: Redis[] = [];
  try {
    clients.push(await open('publisher', { enableOfflineQueue: true, maxRetriesPerRequest: 20 }));
    for (const role of ['subscriber', 'commands']) clients.push(await open(role));
  } catch (error) {
    for (const client of clients) client.disconnect();
    throw error;
  }
  const [publisher, subscriber, commands] = clients as [Redis, Redis, Redis];
  // ioredis' keyPrefix does not apply to channels, so the bus prefixes them itself.
  const bus = createRedisBus({
    publisher,
    subscriber,
    channelPrefix: config.redisPrefix,
    onError: (error) => logger.warn({ err: error }, 'redis bus error'),
    onResync: () => logger.info('redis subscriber back: every stream replays from the database'),
  });
  for (const [role, client] of [['publisher', publisher], ['subscriber', subscriber], ['commands', commands]] as const) {
    client.on('close', () => logger.warn({ role }, 'redis connection lost'));
  }
  return {
    bus,
    typingStore: createRedisTypingStore(commands),
    presenceStore: createRedisPresenceStore(commands, clock, presenceTimings(config.presenceHoldMs)),
    rateLimiterBackend: redisRateLimiterBuilder(commands),
    // Every connection: a dead subscriber stops deliveries while commands still work.
    readiness: { redis: () => everyAnswers(clients, REDIS_PING_TIMEOUT_MS) },
    async close() {
      await bus.close();
      // QUIT waits behind whatever is queued: a connection that is not up is dropped instead.
      await Promise.all(clients.map((client) => (client.status === 'ready' ? client.quit().catch(() => client.disconnect()) : client.disconnect())));
    },
  };
}

/** True when every connection answers a PING within `ms` (a subscriber connection may PING too). */
async function everyAnswers(clients: Redis[], ms: number): Promise<boolean> {
  // A connection that is not up fails at once: a PING would wait in the publisher's offline
  // queue (and hold up its QUIT at shutdown) until its retries ran out.
  if (clients.some((client) => client.status !== 'ready')) return false;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const pings = Promise.all(clients.map((client) => client.ping())).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([pings, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Renew three times per hold; sweep at least every 5 s (a dead instance's users: offline within hold + sweep). */
export function presenceTimings(holdMs: number) {
  return { holdMs, refreshMs: Math.floor(holdMs / 3), sweepMs: Math.min(5_000, Math.floor(holdMs / 3)) };
}
