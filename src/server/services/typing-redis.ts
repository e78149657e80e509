import type { Redis } from 'ioredis';
import { whenReady } from '../redis/client.js';
import type { TypingStore } from './typing.js';

/**
 * Typing state shared by every instance, on Redis. Per conversation, a sorted set of typists
 * scored by expiry and a hash of when each one's last start was accepted (the throttle); per
 * user, the set of conversations they type in. Expiry is in the entries themselves: an instance
 * that dies takes its timers with it, and its users' typing states end on their own at
 * `expiresAt`. Keys also carry a TTL so nothing outlives its use in Redis.
 */
const START = `
local acceptedAt = redis.call('HGET', KEYS[2], ARGV[1])
local now = tonumber(ARGV[3])
local expiresAt = redis.call('ZSCORE', KEYS[1], ARGV[1])
local live = expiresAt and tonumber(expiresAt) > now
if live and acceptedAt and now - tonumber(acceptedAt) < tonumber(ARGV[5]) then return 'throttled' end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
if live then return 'renewed' end
return 'started'
`;

const STOP = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[2])
return removed
`;

type TypingCommands = {
  typingStart(...args: Array<string | number>): Promise<'started' | 'renewed' | 'throttled'>;
  typingStop(...args: Array<string | number>): Promise<number>;
};

/** Keys live this long past the last write, whatever the clock the service runs on says. */
const KEY_TTL_MS = 60_000;

export function createRedisTypingStore(redis: Redis): TypingStore {
  const client = redis as Redis & TypingCommands;
  if (!('typingStart' in client)) {
    redis.defineCommand('typingStart', { numberOfKeys: 3, lua: START });
    redis.defineCommand('typingStop', { numberOfKeys: 3, lua: STOP });
  }
  const keys = (conversationId: number, userId: number) => [`typing:c:${conversationId}`, `typing:a:${conversationId}`, `typing:u:${userId}`];

  return {
    shared: true,
    async start(conversationId, userId, now, expiresAt, minIntervalMs) {
      return client.typingStart(...keys(conversationId, userId), userId, conversationId, now, expiresAt, minIntervalMs, KEY_TTL_MS);
    },
    async stop(conversationId, userId) {
      return (await client.typingStop(...keys(conversationId, userId), userId, conversationId)) === 1;
    },
    async typists(conversationId, now) {
      await whenReady(redis);
      const ids = await redis.zrangebyscore(`typing:c:${conversationId}`, `(${now}`, '+inf');
      return ids.map(Number);
    },
    async conversationsOf(userId) {
      return (await redis.smembers(`typing:u:${userId}`)).map(Number);
    },
  };
}
