import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type IRateLimiterStoreOptions, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** Points an instance takes from Redis at a time for a limit of `points`: none below 60 (exact counting). */
export function leaseSizeOf(points: number): number {
  return Math.min(20, Math.floor(points / 30));
}

/**
 * Builds the named limits on Redis, shared by every instance (pass it as `createRateLimits`'s
 * `build`). Each limit counts in Redis under `rl:<name>:<key>`. With Redis away, the limiter
 * answers at once from a per-process one with the same limits (`insuranceLimiter`): sends keep
 * working during an outage, limited per instance instead of per deployment.
 *
 * Large limits (sends, typing and receipts: hundreds of points per window) are leased: see
 * `LeasedRateLimiterRedis`. Small ones (sign-in attempts and failures, invitations) count every
 * point in Redis.
 */
export function redisRateLimiterBuilder(redis: Redis) {
  return (options: { points: number; duration: number; keyPrefix: string }): RateLimiterAbstract => {
    const storeOptions = {
      storeClient: redis,
      ...options,
      keyPrefix: `rl:${options.keyPrefix}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    };
    const lease = leaseSizeOf(options.points);
    return lease >= 2 ? new LeasedRateLimiterRedis(storeOptions, lease) : new RateLimiterRedis(storeOptions);
  };
}

type Lease = { remaining: number; expiresAt: number };

/** Leases kept before expired ones are swept. */
const SWEEP_ABOVE = 10_000;

/**
 * A Redis limiter that takes points from Redis `lease` at a time and hands them out locally until
 * they run out or the key's window ends: one Redis round trip per `lease` actions instead of one
 * per action, on the send path of every message (BENCHMARKS.md, "Ninth round").
 *
 * Never more than the limit: every point handed out was counted in Redis first. The price is
 * leased points an instance did not use before the window ended, so a user acting through k
 * instances at once may be refused up to k × (lease − 1) points early (with 300 sends per 10 s
 * and a lease of 10: from 291 on one instance). Near the limit, a lease Redis cannot grant in full
 * is cut to what is left (the excess given back), and a refused action counts only its own points,
 * as with the plain limiter.
 */
export class LeasedRateLimiterRedis extends RateLimiterRedis {
  private readonly leases = new Map<string, Lease>();

  constructor(
    options: IRateLimiterStoreOptions,
    private readonly lease: number,
  ) {
    super(options);
  }

  override async consume(key: string | number, points = 1): Promise<RateLimiterRes> {
    const id = String(key);
    const now = Date.now();
    const held = this.leases.get(id);
    if (held && held.expiresAt > now && held.remaining >= points) {
      held.remaining -= points;
      return new RateLimiterRes(held.remaining, held.expiresAt - now, points, false);
    }
    const ask = Math.max(points, this.lease);
    try {
      const granted = await super.consume(id, ask);
      this.keep(id, ask - points, now + granted.msBeforeNext);
      return granted;
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      // What was left before this lease was counted.
      const left = this.points - (refusal.consumedPoints - ask);
      const excess = ask - Math.max(points, Math.min(left, ask));
      if (excess > 0) await super.reward(id, excess);
      if (left < points) throw new RateLimiterRes(0, refusal.msBeforeNext, refusal.consumedPoints - excess, false);
      this.keep(id, Math.min(left, ask) - points, now + refusal.msBeforeNext);
      return new RateLimiterRes(0, refusal.msBeforeNext, this.points, false);
    }
  }

  /** Deletes the key's count in Redis and this instance's lease with it (other instances' leases run out with their window). */
  override async delete(key: string | number): Promise<boolean> {
    this.leases.delete(String(key));
    return super.delete(key);
  }

  private keep(id: string, remaining: number, expiresAt: number) {
    if (this.leases.size >= SWEEP_ABOVE) {
      const now = Date.now();
      for (const [key, lease] of this.leases) if (lease.expiresAt <= now) this.leases.delete(key);
    }
    const held = this.leases.get(id);
    // Two leases taken at once in the same window add up; one of an older window is replaced.
    if (held && held.expiresAt > Date.now()) held.remaining += remaining;
    else this.leases.set(id, { remaining, expiresAt });
  }
}
