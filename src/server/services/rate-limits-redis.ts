import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Builds the named limits on Redis, shared by every instance (pass it as `createRateLimits`'s
 * `build`). Each limit counts in Redis under `rl:<name>:<key>`. With Redis away, the limiter
 * answers at once from a per-process one with the same limits (`insuranceLimiter`): sends keep
 * working during an outage, limited per instance instead of per deployment.
 */
export function redisRateLimiterBuilder(redis: Redis) {
  return (options: { points: number; duration: number; keyPrefix: string }): RateLimiterAbstract =>
    new RateLimiterRedis({
      storeClient: redis,
      ...options,
      keyPrefix: `rl:${options.keyPrefix}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
}
