import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRedisBus } from '../src/server/bus/redis.js';
import type { EventBus, Topic } from '../src/server/bus/types.js';
import { openTestRedis } from './redis-helpers.js';

const topic = (key: string): Topic<{ n: number }> => ({ key });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Two instances' buses on one Redis, under a prefix of this test's own. */
async function cluster(count = 2) {
  const scope = await openTestRedis();
  cleanups.push(() => scope.cleanup());
  const buses: EventBus[] = [];
  const subscribers: Array<{ id: number; connection: Redis; received: () => number }> = [];
  for (let i = 0; i < count; i++) {
    const subscriber = await scope.open();
    // Every copy Redis sends this instance, whichever subscription it came through.
    let received = 0;
    for (const name of ['message', 'pmessage']) subscriber.on(name, () => received++);
    subscribers.push({ id: Number(await subscriber.client('ID')), connection: subscriber, received: () => received });
    const bus = createRedisBus({ publisher: await scope.open(), subscriber, channelPrefix: scope.prefix });
    cleanups.push(() => bus.close());
    buses.push(bus);
  }
  return { scope, buses, subscribers };
}

/** How many channels and patterns a subscriber connection holds, as Redis counts them. */
async function upstreamOf(redis: Redis, id: number) {
  const line = String(await redis.client('LIST', 'ID', String(id)));
  return { channels: Number(/\bsub=(\d+)/.exec(line)![1]), patterns: Number(/\bpsub=(\d+)/.exec(line)![1]) };
}

async function next<T>(iterator: AsyncIterator<T>, ms = 3_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    iterator.next(),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no batch')), ms))),
  ]).finally(() => clearTimeout(timer));
  if (result.done) throw new Error('ended');
  return result.value;
}

async function collect(iterator: AsyncIterator<Array<{ n: number }>>, count: number) {
  const seen: number[] = [];
  while (seen.length < count) seen.push(...(await next(iterator)).map((event) => event.n));
  return seen;
}

/**
 * Kills a subscriber connection on the server side, as a Redis restart would: the subscription
 * must be told it is behind, then receive live events from `publisher` again.
 */
async function blipAndRecover(
  redis: Redis,
  subscriberId: number,
  subscription: { takeOverflow(): boolean },
  iterator: AsyncIterator<Array<{ n: number }>>,
  listener: EventBus,
  publisher: EventBus,
  key: string,
) {
  await redis.client('KILL', 'ID', String(subscriberId));
  await next(iterator, 10_000);
  expect(subscription.takeOverflow()).toBe(true);
  await listener.whenListening!(topic(key));
  await expect
    .poll(async () => {
      await publisher.publish(topic(key), { n: 3 });
      const seen = await next(iterator, 300).catch(() => []);
      return seen.some((event) => event.n === 3);
    }, { timeout: 10_000, interval: 50 })
    .toBe(true);
}

describe('Redis bus', () => {
  it('carries events between instances in publish order, to every local subscriber, frozen', async () => {
    const { buses: [a, b] } = await cluster();
    const onA = a!.subscribe(topic('room'), {});
    const onB1 = b!.subscribe(topic('room'), {});
    const onB2 = b!.subscribe([topic('room'), topic('other')], {});
    await Promise.all([a!.whenListening!(topic('room')), b!.whenListening!([topic('room'), topic('other')])]);
    for (let n = 1; n <= 50; n++) await (n % 2 ? a! : b!).publish(topic('room'), { n });
    await b!.publish(topic('other'), { n: 1000 });
    const expected = Array.from({ length: 50 }, (_, index) => index + 1);
    expect(await collect(onA[Symbol.asyncIterator](), 50)).toEqual(expected);
    expect(await collect(onB1[Symbol.asyncIterator](), 50)).toEqual(expected);
    const both = await collect(onB2[Symbol.asyncIterator](), 51);
    expect(both).toEqual([...expected, 1000]);
    const [event] = await (async () => {
      const iterator = onA[Symbol.asyncIterator]();
      await a!.publish(topic('room'), { n: 51 });
      return next(iterator);
    })();
    expect(Object.isFrozen(event)).toBe(true);
    for (const sub of [onA, onB1, onB2]) sub.close();
  });

  it('hands an event once to each subscriber, whether it listens to the topic, a pattern covering it, or both', async () => {
    const { buses: [a, b] } = await cluster();
    const exact = b!.subscribe(topic('conversation:7'), {});
    const pattern = b!.subscribe(topic('conversation:*'), {});
    const both = b!.subscribe([topic('conversation:7'), topic('conversation:*')], {});
    await b!.whenListening!([topic('conversation:7'), topic('conversation:*')]);
    await a!.publish(topic('conversation:7'), { n: 1 });
    await a!.publish(topic('conversation:8'), { n: 2 });
    await a!.publish(topic('conversation:7'), { n: 3 });
    expect(await collect(exact[Symbol.asyncIterator](), 2)).toEqual([1, 3]);
    expect(await collect(pattern[Symbol.asyncIterator](), 3)).toEqual([1, 2, 3]);
    // Subscribed both ways, it gets each event twice (once per topic it asked for), as in-process.
    expect((await collect(both[Symbol.asyncIterator](), 5)).sort()).toEqual([1, 1, 2, 3, 3]);
    a!.publishLocal(topic('conversation:9'), { n: 4 }); // never leaves a
    await b!.publish(topic('conversation:8'), { n: 5 });
    expect(await collect(pattern[Symbol.asyncIterator](), 1)).toEqual([5]);
    for (const sub of [exact, pattern, both]) sub.close();
  });

  it('takes no channel for a topic a subscribed pattern covers: one copy of each event reaches the instance, for both', async () => {
    const { scope, buses: [a, b], subscribers } = await cluster();
    const { id, connection, received } = subscribers[1]!;
    // The pattern's PSUBSCRIBE held back a moment: the riding topic's whenListening must wait for it.
    const psubscribe = connection.psubscribe.bind(connection) as (...patterns: string[]) => Promise<unknown>;
    vi.spyOn(connection, 'psubscribe').mockImplementation((async (...patterns: string[]) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return psubscribe(...patterns);
    }) as never);
    const pattern = b!.subscribe(topic('conversation:*'), {});
    const exact = b!.subscribe(topic('conversation:7'), {});
    const both = b!.subscribe([topic('conversation:7'), topic('conversation:*')], {});
    await b!.whenListening!(topic('conversation:7'));
    expect(await upstreamOf(scope.redis, id)).toEqual({ channels: 0, patterns: 1 });
    expect(await scope.redis.pubsub('NUMSUB', `${scope.prefix}conversation:7`)).toEqual([`${scope.prefix}conversation:7`, 0]);
    await a!.publish(topic('conversation:7'), { n: 1 });
    await a!.publish(topic('conversation:8'), { n: 2 });
    await a!.publish(topic('conversation:7'), { n: 3 });
    expect(await collect(exact[Symbol.asyncIterator](), 2)).toEqual([1, 3]);
    expect(await collect(pattern[Symbol.asyncIterator](), 3)).toEqual([1, 2, 3]);
    expect((await collect(both[Symbol.asyncIterator](), 5)).sort()).toEqual([1, 1, 2, 3, 3]);
    // Redis sends a channel's copy before a pattern's: any second copy would be in by now.
    expect(received()).toBe(3);

    // Going idle, it has nothing upstream to give back.
    const unsubscribe = vi.spyOn(connection, 'unsubscribe');
    exact.close();
    both.close();
    expect(b!.listenerCount(topic('conversation:7'))).toBe(0);
    expect(unsubscribe).not.toHaveBeenCalled();
    pattern.close();
  });

  it('keeps the channel of a topic active before the pattern (each event still once), and rides once it comes back', async () => {
    const { scope, buses: [a, b], subscribers } = await cluster();
    const { id, connection, received } = subscribers[1]!;
    let exact = b!.subscribe(topic('conversation:7'), {});
    await b!.whenListening!(topic('conversation:7'));
    const pattern = b!.subscribe(topic('conversation:*'), {});
    await b!.whenListening!(topic('conversation:*'));
    expect(await upstreamOf(scope.redis, id)).toEqual({ channels: 1, patterns: 1 });
    await a!.publish(topic('conversation:7'), { n: 1 });
    await a!.publish(topic('conversation:8'), { n: 2 });
    expect(await collect(exact[Symbol.asyncIterator](), 1)).toEqual([1]);
    expect(await collect(pattern[Symbol.asyncIterator](), 2)).toEqual([1, 2]);
    expect(received()).toBe(3); // conversation:7 twice: its channel and the pattern

    // Subscribed again while the pattern is active, it rides; a late copy from its old channel
    // (its UNSUBSCRIBE still on its way, so published just before) must not double the pattern's.
    const unsubscribe = vi.spyOn(connection, 'unsubscribe');
    const subscribe = vi.spyOn(connection, 'subscribe');
    exact.close();
    exact = b!.subscribe(topic('conversation:7'), {});
    await b!.whenListening!(topic('conversation:7'));
    expect(unsubscribe).toHaveBeenCalledTimes(1);
    expect(subscribe).not.toHaveBeenCalled();
    connection.emit('message', `${scope.prefix}conversation:7`, JSON.stringify({ n: 3 }));
    await a!.publish(topic('conversation:7'), { n: 4 });
    expect(await collect(exact[Symbol.asyncIterator](), 1)).toEqual([4]);
    expect(await collect(pattern[Symbol.asyncIterator](), 1)).toEqual([4]);
    await expect.poll(() => upstreamOf(scope.redis, id)).toEqual({ channels: 0, patterns: 1 });
    for (const sub of [exact, pattern]) sub.close();
  });

  it('gives the topics riding on a pattern channels of their own when it goes idle, and tells their subscribers they are behind', async () => {
    const { scope, buses: [a, b], subscribers } = await cluster();
    const { id, received } = subscribers[1]!;
    const own = b!.subscribe(topic('conversation:9'), {});
    const pattern = b!.subscribe(topic('conversation:*'), {});
    const riding = b!.subscribe(topic('conversation:7'), {});
    await b!.whenListening!([topic('conversation:9'), topic('conversation:7')]);
    const iterator = riding[Symbol.asyncIterator]();
    await a!.publish(topic('conversation:7'), { n: 1 });
    expect(await collect(iterator, 1)).toEqual([1]);

    pattern.close();
    // The marker comes once the channel is confirmed: an empty batch with the overflow flag.
    expect(await next(iterator)).toEqual([]);
    expect(riding.takeOverflow()).toBe(true);
    expect(own.takeOverflow()).toBe(false); // it had its channel all along
    expect(await upstreamOf(scope.redis, id)).toEqual({ channels: 2, patterns: 0 });
    await b!.whenListening!(topic('conversation:7'));
    const before = received();
    await a!.publish(topic('conversation:7'), { n: 2 });
    expect(await collect(iterator, 1)).toEqual([2]);
    expect(received() - before).toBe(1);
    for (const sub of [own, riding]) sub.close();
  });

  it('holds one upstream subscription per topic per instance, however many local subscribers', async () => {
    const { scope, buses: [a] } = await cluster(1);
    const subs = Array.from({ length: 100 }, () => a!.subscribe(topic('busy'), {}));
    await a!.whenListening!(topic('busy'));
    const numsub = async () => Number(((await scope.redis.pubsub('NUMSUB', `${scope.prefix}busy`)) as [string, number])[1]);
    expect(await numsub()).toBe(1);
    for (const sub of subs.slice(1)) sub.close();
    expect(await numsub()).toBe(1);
    subs[0]!.close();
    await expect.poll(numsub).toBe(0);
  });

  it('tells every local subscription it is behind when its subscriber connection comes back (Redis blip)', async () => {
    const { scope, buses: [a, b], subscribers } = await cluster();
    const onB = b!.subscribe(topic('room'), {});
    await b!.whenListening!(topic('room'));
    const iterator = onB[Symbol.asyncIterator]();
    await a!.publish(topic('room'), { n: 1 });
    expect((await next(iterator)).map((event) => event.n)).toEqual([1]);

    // Whatever was published while b's subscriber connection was away is gone from pub/sub, so
    // b must learn it is behind; live delivery works again after the reconnection.
    await blipAndRecover(scope.redis, subscribers[1]!.id, onB, iterator, b!, a!, 'room');
    onB.close();
  });

  it('brings a riding topic back with its pattern after a blip: behind once, then each event once, no channel of its own', async () => {
    const { scope, buses: [a, b], subscribers } = await cluster();
    const { id, received } = subscribers[1]!;
    const pattern = b!.subscribe(topic('conversation:*'), {});
    const riding = b!.subscribe(topic('conversation:7'), {});
    await b!.whenListening!(topic('conversation:7'));
    const iterator = riding[Symbol.asyncIterator]();

    await blipAndRecover(scope.redis, id, riding, iterator, b!, a!, 'conversation:7');
    // Let the poll's last copies in before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await next(iterator, 50).catch(() => []);
    const before = received();
    await a!.publish(topic('conversation:7'), { n: 4 });
    expect(await collect(iterator, 1)).toEqual([4]);
    expect(received() - before).toBe(1);
    expect(await scope.redis.pubsub('NUMSUB', `${scope.prefix}conversation:7`)).toEqual([`${scope.prefix}conversation:7`, 0]);
    for (const sub of [pattern, riding]) sub.close();
  });
});
