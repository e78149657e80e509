import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
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
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/**
 * A Redis of the test's own (a `redis-server` child on a free port, nothing saved), for tests
 * that stop or freeze Redis without disturbing the others on the shared one.
 */
export async function startPrivateRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: connections stay open, nothing answers. */
    freeze: (frozen: boolean) => child.kill(frozen ? 'SIGSTOP' : 'SIGCONT'),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
