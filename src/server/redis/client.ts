import { Redis, type RedisOptions } from 'ioredis';

export type RedisClientOptions = {
  /** `redis://…` or `rediss://…`. */
  url: string;
  /** Prepended to every key this client names (one prefix per deployment, or per test). */
  keyPrefix?: string;
  /** How long to keep trying at start before giving up with a clear error. */
  connectTimeoutMs?: number;
};

export class RedisUnavailableError extends Error {}

/**
 * Opens an ioredis client and waits until it answers, for a bounded time. After start, ioredis
 * reconnects by itself; commands issued while it is down fail at once (no offline queue), so a
 * caller never hangs on a Redis that is away.
 */
export async function openRedis({ url, keyPrefix = '', connectTimeoutMs = 10_000 }: RedisClientOptions, extra: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    ...extra,
  });
  // ioredis emits 'error' on every failed (re)connect; an unhandled one would crash the process.
  let lastError: unknown;
  redis.on('error', (error: unknown) => (lastError = error));
  // ioredis retries by itself (retryStrategy); wait for 'ready' for a bounded time.
  const ready = new Promise<boolean>((resolve) => redis.once('ready', () => resolve(true)));
  redis.connect().catch((error: unknown) => (lastError = error));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), connectTimeoutMs)));
  const connected = await Promise.race([ready, timedOut]);
  clearTimeout(timer);
  if (connected) return redis;
  redis.disconnect();
  const host = safeHost(url);
  throw new RedisUnavailableError(`REDIS_URL: Redis at ${host} did not answer within ${connectTimeoutMs} ms (${(lastError as Error)?.message ?? 'no answer'})`);
}

/** The host and port of a Redis URL, without its password. */
export function safeHost(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Resolves once `redis` is connected, waiting up to `ms` while it reconnects (a blip): callers
 * that only read ephemeral state wait a moment rather than fail. Rejects after that.
 */
export function whenReady(redis: Redis, ms = 2_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready within ${ms} ms`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
