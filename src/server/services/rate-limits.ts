import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Metrics } from '../metrics.js';
import { DomainError } from './errors.js';

const HOUR = 60 * 60;

/** Named limits: `points` actions per `duration` seconds per key. */
export const DEFAULT_RATE_LIMITS = {
  /** Sign-in and registration attempts per client IP. */
  signIn: { points: 20, duration: 60 },
  /**
   * Failed sign-ins per account, from any address: past them the account is locked (see
   * sign-in-guard.ts), so rotating source addresses does not buy more guesses.
   */
  signInFailures: { points: 5, duration: 15 * 60 },
  /** Messages per user (a burst of a few per second is fine, a flood is not). */
  send: { points: 300, duration: 10 },
  /** Typing and read-receipt calls per user. */
  signal: { points: 600, duration: 10 },
  /** Groups a user creates. */
  groupCreate: { points: 20, duration: HOUR },
  /** Invitations a user sends (group.create's members included). */
  invite: { points: 60, duration: HOUR },
  /** Invitations a user receives, from everyone together. */
  invited: { points: 30, duration: HOUR },
} as const;

export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS;
/** Overrides of the defaults, by name. */
export type RateLimitConfig = Partial<Record<RateLimitName, { points: number; duration: number }>>;

/** The wait, in the error's message and as `retryAfterMs` (error.data.retryAfterMs over tRPC). */
export function tooManyRequests(msBeforeNext: number, what = 'Too many requests'): DomainError {
  return new DomainError('TOO_MANY_REQUESTS', `${what}: try again in ${Math.ceil(msBeforeNext / 1000)} s`, msBeforeNext);
}

/** Builds one named limiter: the backend choice (in memory by default; rate-limiter-flexible's Redis limiter for several instances). */
export type RateLimiterBackend = (options: { points: number; duration: number; keyPrefix: string }) => RateLimiterAbstract;

export const memoryRateLimiterBackend: RateLimiterBackend = (options) => new RateLimiterMemory(options);

/**
 * Rate limits on top of rate-limiter-flexible. The in-memory limiters here are per process;
 * for several instances, build the same names with its Redis limiter instead.
 */
export function createRateLimits(
  metrics: Pick<Metrics, 'rateLimited'>,
  config: RateLimitConfig = DEFAULT_RATE_LIMITS,
  build: RateLimiterBackend = memoryRateLimiterBackend,
) {
  const limiters = Object.fromEntries(
    Object.entries({ ...DEFAULT_RATE_LIMITS, ...config }).map(([name, options]) => [name, build({ ...options, keyPrefix: name })]),
  ) as Record<RateLimitName, RateLimiterAbstract>;

  return {
    limiters,
    /** Spends `points` (one by default), or throws TOO_MANY_REQUESTS with the wait. */
    async consume(name: RateLimitName, key: string | number, points = 1): Promise<void> {
      try {
        await limiters[name].consume(String(key), points);
      } catch (error) {
        if (error instanceof RateLimiterRes) {
          metrics.rateLimited.inc({ limit: name });
          throw tooManyRequests(error.msBeforeNext);
        }
        throw error;
      }
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
