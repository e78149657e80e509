import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { whenReady } from '../redis/client.js';
import type { PresenceStore } from './presence.js';

export type RedisPresenceOptions = {
  /** This instance's name in Redis (random by default: a restarted process is a new holder). */
  instanceId?: string;
  /** How often this instance renews the users it holds. */
  refreshMs?: number;
  /** How long a holder's claim lasts without renewal: the bound on a dead instance's ghosts. */
  holdMs?: number;
  /** How often this instance looks for users whose every claim expired. */
  sweepMs?: number;
};

export const REDIS_PRESENCE_DEFAULTS = { refreshMs: 10_000, holdMs: 30_000, sweepMs: 5_000 } as const;

/**
 * Presence shared by every instance. Each user has a sorted set of the instances that hold one of
 * their connections, scored by when that claim expires; the user is online while one claim is
 * live. Instances renew their claims every `refreshMs`; one that dies (`kill -9`) stops renewing,
 * and whichever instance sweeps first after `holdMs` reports those users offline (once: the sweep
 * claims each expired entry atomically). A global sorted set of `user:instance` entries by expiry
 * lets the sweep find them without scanning users.
 */
const SET_ONLINE = `
local now = tonumber(ARGV[2])
local before = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4] .. ':' .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if before == 0 then return 1 end
return 0
`;

const SET_OFFLINE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3] .. ':' .. ARGV[1])
local left = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
if left == 0 then return 1 end
return 0
`;

// The sweep builds per-user keys itself, so it is given the key prefix.
const SWEEP = `
local prefix = ARGV[1]
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local gone = {}
for _, entry in ipairs(expired) do
  redis.call('ZREM', KEYS[1], entry)
  local userId, instanceId = string.match(entry, '^(%d+):(.+)$')
  local key = prefix .. 'presence:u:' .. userId
  local score = redis.call('ZSCORE', key, instanceId)
  if score and tonumber(score) <= tonumber(ARGV[2]) then redis.call('ZREM', key, instanceId) end
  if redis.call('ZCOUNT', key, '(' .. ARGV[2], '+inf') == 0 then table.insert(gone, userId) end
end
return gone
`;

// Of the users whose keys are given, the positions (1-based) of those with a live claim: one
// command and one reply for a whole lookup. A pipeline of one ZCOUNT per user cost ioredis a
// command object and a promise per user, and offline notifications look up every remote member
// of each busy conversation every 100 ms (BENCHMARKS.md, "Eleventh round").
const ONLINE_AMONG = `
local live = '(' .. ARGV[1]
local online = {}
for index, key in ipairs(KEYS) do
  if redis.call('ZCOUNT', key, live, '+inf') > 0 then online[#online + 1] = index end
end
return online
`;

/** Users per ONLINE_AMONG call: a watch of thousands of contacts does not hold Redis in one script. */
const ONLINE_AMONG_CHUNK = 1_000;

type PresenceCommands = {
  presenceOnline(...args: Array<string | number>): Promise<number>;
  presenceOffline(...args: Array<string | number>): Promise<number>;
  presenceSweep(...args: Array<string | number>): Promise<string[]>;
  presenceOnlineAmong(...args: Array<string | number>): Promise<number[]>;
};

const EXPIRIES = 'presence:expiries';
const SWEEP_BATCH = 500;

export function createRedisPresenceStore(redis: Redis, clock: Clock, options: RedisPresenceOptions = {}): PresenceStore {
  const client = redis as Redis & PresenceCommands;
  if (!('presenceOnline' in client)) {
    redis.defineCommand('presenceOnline', { numberOfKeys: 2, lua: SET_ONLINE });
    redis.defineCommand('presenceOffline', { numberOfKeys: 2, lua: SET_OFFLINE });
    redis.defineCommand('presenceSweep', { numberOfKeys: 1, lua: SWEEP });
    // No fixed number of keys: each call passes its own count first.
    redis.defineCommand('presenceOnlineAmong', { lua: ONLINE_AMONG });
  }
  const instanceId = options.instanceId ?? randomUUID();
  const { refreshMs, holdMs, sweepMs } = { ...REDIS_PRESENCE_DEFAULTS, ...options };
  const held = new Set<number>();
  const expiredListeners: Array<(userId: number) => void> = [];
  const userKey = (userId: number) => `presence:u:${userId}`;

  async function refresh() {
    if (held.size === 0) return;
    const expiresAt = clock.now() + holdMs;
    const pipeline = redis.pipeline();
    for (const userId of held) {
      pipeline.zadd(userKey(userId), expiresAt, instanceId);
      pipeline.pexpire(userKey(userId), 2 * holdMs);
      pipeline.zadd(EXPIRIES, expiresAt, `${userId}:${instanceId}`);
    }
    await pipeline.exec();
  }
  async function sweep() {
    if (expiredListeners.length === 0) return;
    const gone = await client.presenceSweep(EXPIRIES, redis.options.keyPrefix ?? '', clock.now(), SWEEP_BATCH);
    for (const userId of gone) for (const listener of expiredListeners) listener(Number(userId));
  }
  // A failed renewal or sweep (Redis away) is retried at the next tick; claims last 3 ticks.
  const timers = [
    setInterval(() => void refresh().catch(() => {}), refreshMs),
    setInterval(() => void sweep().catch(() => {}), sweepMs),
  ];
  for (const timer of timers) timer.unref();

  return {
    shared: true,
    async setOnline(userId) {
      held.add(userId);
      const now = clock.now();
      return (await client.presenceOnline(userKey(userId), EXPIRIES, instanceId, now, now + holdMs, userId, 2 * holdMs)) === 1;
    },
    async setOffline(userId) {
      held.delete(userId);
      return (await client.presenceOffline(userKey(userId), EXPIRIES, instanceId, clock.now(), userId)) === 1;
    },
    async onlineAmong(userIds) {
      if (userIds.length === 0) return new Set();
      // A presence snapshot is what streams resend after a Redis blip: wait for the connection.
      await whenReady(redis);
      const now = clock.now();
      const chunks: number[][] = [];
      for (let start = 0; start < userIds.length; start += ONLINE_AMONG_CHUNK) chunks.push(userIds.slice(start, start + ONLINE_AMONG_CHUNK));
      const answers = await Promise.all(chunks.map((chunk) => client.presenceOnlineAmong(chunk.length, ...chunk.map(userKey), now)));
      const online = new Set<number>();
      answers.forEach((positions, chunk) => {
        for (const position of positions) online.add(chunks[chunk]![Number(position) - 1]!);
      });
      return online;
    },
    onExpired(listener) {
      expiredListeners.push(listener);
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
