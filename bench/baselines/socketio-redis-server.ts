/**
 * Baseline for several instances (`--cluster`): Socket.IO with one `pg` INSERT per message
 * (`socketio-pg.ts`) and `@socket.io/redis-adapter` between the instances, each instance on the
 * database and Redis prefix the benchmark made for the deployment (it drops and cleans them).
 */
import { once } from 'node:events';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { sharedBackendsFromEnv } from '../control.js';
import { serveSocketIoOnPostgres } from './socketio-pg.js';

const shared = sharedBackendsFromEnv();
if (!shared) throw new Error('socketio-redis-server: BENCH_SHARED_BACKENDS is not set (run through `npm run bench -- --cluster`)');
// The adapter's documented ioredis setup: one connection publishes, a duplicate subscribes.
const publisher = new Redis(shared.redisUrl);
const subscriber = publisher.duplicate();
for (const client of [publisher, subscriber]) client.on('error', (error: Error) => process.stderr.write(`socketio-redis-server: redis: ${error.message}\n`));
// Connected before the adapter subscribes: subscribing while ioredis still runs its ready check
// (INFO) puts the connection in subscriber mode first, the check fails and the instance hears nothing.
await Promise.all([publisher, subscriber].map((client) => (client.status === 'ready' ? undefined : once(client, 'ready'))));
await serveSocketIoOnPostgres({
  databaseUrl: shared.databaseUrl,
  adapter: createAdapter(publisher, subscriber, { key: `${shared.redisPrefix}socket.io` }),
  async onClose() {
    await Promise.all([publisher.quit(), subscriber.quit()]);
  },
});
