import { afterEach, expect, it } from 'vitest';
import { createRedisBus } from '../src/server/bus/redis.js';
import { topics } from '../src/server/bus/topics.js';
import type { EventBus } from '../src/server/bus/types.js';
import { createTestApp, type TestApp } from './helpers.js';
import { openTestRedis } from './redis-helpers.js';

// Two instances (two apps, each with its own services and caches) on one Redis bus: what one
// caches must follow what the other changes. Each app has a database of its own here; only the
// caches and the cluster events are under test (tests/cluster/ runs real processes on one database).
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function twoInstances(): Promise<[TestApp, TestApp]> {
  const scope = await openTestRedis();
  cleanups.push(() => scope.cleanup());
  const apps: TestApp[] = [];
  for (let i = 0; i < 2; i++) {
    const bus: EventBus = createRedisBus({ publisher: await scope.open(), subscriber: await scope.open(), channelPrefix: scope.prefix });
    await bus.whenListening!(topics.cluster);
    const app = await createTestApp({ bus });
    cleanups.push(() => app.close());
    apps.push(app);
  }
  return apps as [TestApp, TestApp];
}

it('a block made or lifted on one instance updates the cached blockers on the other', async () => {
  const [a, b] = await twoInstances();
  const [blocker, blocked] = [await a.user('blocker'), await a.user('blocked')];
  // b has the blocked user's blockers cached (none yet).
  expect([...(await b.services.blocks.blockersOf(blocked.id))]).toEqual([]);
  await a.services.blocks.block(blocker.id, blocked.id);
  await expect.poll(async () => b.services.blocks.hasBlocked(blocker.id, blocked.id)).toBe(true);
  await a.services.blocks.unblock(blocker.id, blocked.id);
  await expect.poll(async () => b.services.blocks.hasBlocked(blocker.id, blocked.id)).toBe(false);
});
