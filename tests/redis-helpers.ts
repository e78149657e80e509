import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { deleteKeys } from '../bench/redis.js';
import { openRedis } from '../src/server/redis/client.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A Redis client whose keys all live under a prefix of their own, and a way to remove them. */
export async function openTestRedis(prefix = `test:${randomUUID()}:`) {
  const clients: Redis[] = [];
  const open = async () => {
    const client = await openRedis({ url: REDIS_URL, keyPrefix: prefix, connectTimeoutMs: 5_000 });
    clients.push(client);
    return client;
  };
  const redis = await open();
  return {
    prefix,
    redis,
    /** Another connection on the same prefix: another instance. */
    open,
    async cleanup() {
      await deleteRedisKeys(prefix);
      for (const client of clients) client.disconnect();
    },
  };
}

/** Removes every key under `prefix` (a test's own), through a connection of its own. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const admin = await openRedis({ url: REDIS_URL, connectTimeoutMs: 5_000 });
  try {
    await deleteKeys(admin, prefix);
  } finally {
    admin.disconnect();
  }
}

/**
 * A Redis of the test's own (a `redis-server` child on a free port, nothing saved), for tests
 * that stop or freeze Redis without disturbing the others on the shared one.
 */
export { startPrivateRedis } from '../bench/redis.js';
