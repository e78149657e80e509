import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Metrics } from '../metrics.js';
import { DomainError } from './errors.js';

/** Named limits: `points` actions per `duration` seconds per key. */
export const DEFAULT_RATE_LIMITS = {
  /** Sign-in and registration attempts per client IP. */
  signIn: { points: 20, duration: 60 },
  /** Messages per user (a burst of a few per second is fine, a flood is not). */
  send: { points: 300, duration: 10 },
  /** Typing and read-receipt calls per user. */
  signal: { points: 600, duration: 10 },
} as const;

export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS;
export type RateLimitConfig = Record<RateLimitName, { points: number; duration: number }>;

/**
 * Rate limits on top of rate-limiter-flexible. The in-memory limiters here are per process;
 * for several instances, build the same names with its Redis limiter instead.
 */
export function createRateLimits(
  metrics: Pick<Metrics, 'rateLimited'>,
  config: RateLimitConfig = DEFAULT_RATE_LIMITS,
  build: (options: { points: number; duration: number; keyPrefix: string }) => RateLimiterAbstract = (options) =>
    new RateLimiterMemory(options),
) {
  const limiters = Object.fromEntries(
    Object.entries(config).map(([name, options]) => [name, build({ ...options, keyPrefix: name })]),
  ) as Record<RateLimitName, RateLimiterAbstract>;

  return {
    /** Spends one point, or throws TOO_MANY_REQUESTS with the wait in the message. */
    async consume(name: RateLimitName, key: string | number): Promise<void> {
      try {
        await limiters[name].consume(String(key));
      } catch (error) {
        if (error instanceof RateLimiterRes) {
          metrics.rateLimited.inc({ limit: name });
          const seconds = Math.ceil(error.msBeforeNext / 1000);
          throw new DomainError('TOO_MANY_REQUESTS', `Too many requests: try again in ${seconds} s`, error.msBeforeNext);
        }
        throw error;
      }
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
