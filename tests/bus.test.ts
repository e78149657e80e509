import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../src/server/bus/memory.js';
import { isShared } from '../src/server/bus/shared.js';
import type { Topic } from '../src/server/bus/types.js';

const topic = (key: string): Topic<number> => ({ key });
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
process.on('warning', onWarning);
afterEach(() => {
  warnings.length = 0;
});

describe('memory bus', () => {
  it('delivers in publish order, batching what queued up between pulls', async () => {
    const bus = createMemoryBus();
    const ac = new AbortController();
    const sub = bus.subscribe(topic('t'), { signal: ac.signal });
    const iterator = sub[Symbol.asyncIterator]();
    const first = iterator.next();
    await bus.publish(topic('t'), 1);
    expect(await first).toEqual({ done: false, value: [1] });
    for (const n of [2, 3, 4]) await bus.publish(topic('t'), n);
    await bus.publish(topic('other'), 99);
    expect(await iterator.next()).toEqual({ done: false, value: [2, 3, 4] });
    ac.abort();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('registers at subscribe time, before the first pull', async () => {
    const bus = createMemoryBus();
    const ac = new AbortController();
    const sub = bus.subscribe(topic('t'), { signal: ac.signal });
    await bus.publish(topic('t'), 7);
    expect(await sub[Symbol.asyncIterator]().next()).toEqual({ done: false, value: [7] });
    ac.abort();
  });

  it('subscribes to several topics with one queue', async () => {
    const bus = createMemoryBus();
    const ac = new AbortController();
    const iterator = bus.subscribe([topic('a'), topic('b')], { signal: ac.signal })[Symbol.asyncIterator]();
    await bus.publish(topic('a'), 1);
    await bus.publish(topic('b'), 2);
    await bus.publish(topic('a'), 3);
    expect(await iterator.next()).toEqual({ done: false, value: [1, 2, 3] });
    ac.abort();
    expect(bus.listenerCount(topic('a')) + bus.listenerCount(topic('b'))).toBe(0);
  });

  it('drops the queue of a subscriber that falls too far behind and flags it', async () => {
    const bus = createMemoryBus({ maxQueue: 3 });
    const ac = new AbortController();
    const sub = bus.subscribe(topic('t'), { signal: ac.signal });
    for (let n = 1; n <= 5; n++) await bus.publish(topic('t'), n);
    expect(sub.takeOverflow()).toBe(true);
    expect(sub.takeOverflow()).toBe(false);
    expect(await sub[Symbol.asyncIterator]().next()).toEqual({ done: false, value: [4, 5] });
    ac.abort();
  });

  it('holds 10,000 concurrent subscribers without MaxListenersExceededWarning and leaks none after abort', async () => {
    const bus = createMemoryBus();
    const controllers = Array.from({ length: 10_000 }, () => new AbortController());
    const iterators = controllers.map((ac) => bus.subscribe(topic('busy'), { signal: ac.signal })[Symbol.asyncIterator]());
    const pending = iterators.map((iterator) => iterator.next());
    expect(bus.listenerCount(topic('busy'))).toBe(10_000);
    await bus.publish(topic('busy'), 42);
    const results = await Promise.all(pending);
    expect(results.every((r) => !r.done && r.value[0] === 42)).toBe(true);
    for (const ac of controllers) ac.abort();
    expect(bus.listenerCount(topic('busy'))).toBe(0);
    // Iterating after abort ends at once.
    expect(await iterators[0]!.next()).toEqual({ done: true, value: undefined });
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('returning from the iterator unregisters too', async () => {
    const bus = createMemoryBus();
    const ac = new AbortController();
    const iterator = bus.subscribe(topic('t'), { signal: ac.signal })[Symbol.asyncIterator]();
    await iterator.return?.();
    expect(bus.listenerCount(topic('t'))).toBe(0);
  });

  it('pushes batches to a receiver while it asks for more, then queues until it is set again', async () => {
    const bus = createMemoryBus();
    const sub = bus.subscribe(topic('t'), {});
    const batches: number[][] = [];
    let ended = 0;
    let wantsMore = false;
    const consumer = {
      receiveBatch: (batch: number[]) => {
        batches.push(batch);
        return wantsMore;
      },
      receiveEnd: () => void ended++,
    };
    sub.deliverBatchesTo(consumer);
    // Published in one run: one batch.
    void bus.publish(topic('t'), 1);
    void bus.publish(topic('t'), 2);
    await Promise.resolve();
    expect(batches).toEqual([[1, 2]]);
    await bus.publish(topic('t'), 3);
    await Promise.resolve();
    expect(batches).toEqual([[1, 2]]); // it returned false: queued
    wantsMore = true;
    sub.deliverBatchesTo(consumer);
    await Promise.resolve();
    expect(batches).toEqual([[1, 2], [3]]);
    // It returned true: it stays the receiver, batch after batch.
    await bus.publish(topic('t'), 4);
    await Promise.resolve();
    await bus.publish(topic('t'), 5);
    await Promise.resolve();
    expect(batches).toEqual([[1, 2], [3], [4], [5]]);
    sub.close();
    expect(ended).toBe(1);
    sub.deliverBatchesTo(consumer); // set after the end: told at once
    expect(ended).toBe(2);
  });

  it('a pattern topic (key ending in :*) receives every topic with that prefix, and nothing else', async () => {
    const bus = createMemoryBus();
    const all = bus.subscribe(topic('conversation:*'), {})[Symbol.asyncIterator]();
    expect(bus.listenerCount(topic('conversation:*'))).toBe(1);
    void bus.publish(topic('conversation:1'), 1);
    void bus.publish(topic('inbox:1'), 2);
    void bus.publish(topic('conversation:22'), 3);
    bus.publishLocal(topic('conversation:3'), 4);
    expect((await all.next()).value).toEqual([1, 3, 4]);
    await all.return?.();
    expect(bus.listenerCount(topic('conversation:*'))).toBe(0);
  });

  it('marks the subscribers of given keys (topics or patterns) behind, and no one else', async () => {
    const bus = createMemoryBus();
    const a = bus.subscribe(topic('conversation:1'), {});
    const both = bus.subscribe([topic('conversation:1'), topic('conversation:*')], {});
    const pattern = bus.subscribe(topic('conversation:*'), {});
    const other = bus.subscribe(topic('conversation:2'), {});
    bus.markBehind(['conversation:1', 'conversation:*', 'nobody']);
    for (const sub of [a, both, pattern]) {
      expect(await sub[Symbol.asyncIterator]().next()).toEqual({ done: false, value: [] });
      expect(sub.takeOverflow()).toBe(true);
    }
    expect(other.takeOverflow()).toBe(false);
    for (const sub of [a, both, pattern, other]) sub.close();
  });

  it('brands what it publishes as shared: the event is frozen all the way down', async () => {
    const bus = createMemoryBus();
    const sub = bus.subscribe<{ nested: { n: number } }>({ key: 'shared' }, {})[Symbol.asyncIterator]();
    const event = { nested: { n: 1 } };
    await bus.publish({ key: 'shared' }, event);
    const [received] = (await sub.next()).value as Array<{ nested: { n: number } }>;
    expect(received).toBe(event);
    expect(isShared(event)).toBe(true);
    expect(Object.isFrozen(event.nested)).toBe(true);
  });

  it('a consumer that throws loses its own subscription, and the others still get the event', async () => {
    const bus = createMemoryBus();
    const bad = bus.subscribe(topic('t'), {});
    const good = bus.subscribe(topic('t'), {});
    const received: number[][] = [];
    bad.deliverBatchesTo({ receiveBatch: () => { throw new Error('consumer bug'); }, receiveEnd: () => {} });
    good.deliverBatchesTo({ receiveBatch: (batch: number[]) => received.push(batch) > 0, receiveEnd: () => {} });
    await bus.publish(topic('t'), 7);
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toEqual([[7]]);
    expect(bus.listenerCount(topic('t'))).toBe(1);
    expect(warnings.map((w) => w.message)).toContain('consumer bug');
    good.close();
  });
});
