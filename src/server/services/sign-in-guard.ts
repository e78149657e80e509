import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Metrics } from '../metrics.js';
import type { RateLimits } from './rate-limits.js';
import { tooManyRequests } from './rate-limits.js';

const BASE_LOCKOUT_MS = 60_000;
const MAX_LOCKOUT_MS = 60 * 60_000;

/**
 * Password guessing per account, whatever the source address: after `signInFailures.points`
 * failures in its window the account is locked for a minute, and each further lockout within a
 * day doubles it (up to an hour). A locked account refuses even the right password, with the
 * wait in `retryAfterMs`; a success clears the failures. The price, documented in the README:
 * someone who knows a username can keep its owner waiting, never guessing faster.
 */
export function createSignInGuard(rateLimits: RateLimits, metrics: Pick<Metrics, 'rateLimited'>) {
  const failures = rateLimits.limiters.signInFailures;
  // Lockouts per account in the last day (the library expires the keys: bounded memory).
  const lockouts = new RateLimiterMemory({ points: Number.MAX_SAFE_INTEGER, duration: 24 * 60 * 60, keyPrefix: 'lockouts' });

  async function nextLockoutMs(key: string): Promise<number> {
    const { consumedPoints } = await lockouts.penalty(key, 1);
    return Math.min(BASE_LOCKOUT_MS * 2 ** (consumedPoints - 1), MAX_LOCKOUT_MS);
  }

  return {
    /** Throws TOO_MANY_REQUESTS while the account is locked. */
    async check(accountKey: string): Promise<void> {
      const state = await failures.get(accountKey);
      if (state && state.consumedPoints >= failures.points) {
        metrics.rateLimited.inc({ limit: 'signInFailures' });
        throw tooManyRequests(state.msBeforeNext, 'Too many failed sign-ins for this account');
      }
    },

    async failed(accountKey: string): Promise<void> {
      const state = await failures.penalty(accountKey, 1);
      if (state.consumedPoints >= failures.points) await failures.block(accountKey, (await nextLockoutMs(accountKey)) / 1000);
    },

    async succeeded(accountKey: string): Promise<void> {
      await failures.delete(accountKey);
    },
  };
}

export type SignInGuard = ReturnType<typeof createSignInGuard>;
