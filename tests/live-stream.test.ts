import { describe, expect, it } from 'vitest';
import { pushToSink } from '../src/server/http/push.js';
import { createMemoryBus } from '../src/server/bus/memory.js';
import type { Topic } from '../src/server/bus/types.js';
import { END, LiveStream, type StreamLogic, type StreamOutput } from '../src/server/streams/live-stream.js';

const topic: Topic<number> = { key: 't' };
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Emits the sum of each batch; a batch holding 0 ends the stream, a negative one fails, 100 is handled asynchronously. */
class Sums implements StreamLogic<number, number> {
  batches: number[][] = [];
  constructor(private readonly first: number[] = []) {}
  start(out: StreamOutput<number>) {
    for (const value of this.first) out.emit(value);
  }
  onBatch(batch: number[], _overflowed: boolean, out: StreamOutput<number>) {
    this.batches.push(batch);
    if (batch.includes(0)) return END;
    if (batch.some((n) => n < 0)) throw new Error('negative');
    if (batch.includes(100)) return tick().then(() => out.emit(batch.reduce((a, b) => a + b)));
    out.emit(batch.reduce((a, b) => a + b));
  }
}

function open(logic: StreamLogic<number, number>, maxQueue?: number) {
  const bus = createMemoryBus({ maxQueue });
  const live = bus.subscribe(topic, {});
  return { bus, stream: new LiveStream(live, logic), publish: (...values: number[]) => values.forEach((n) => void bus.publish(topic, n)) };
}

it('yields what start emitted, then each batch of live events published while it waited', async () => {
  const { stream, publish } = open(new Sums([7, 8]));
  publish(1, 2); // queued in the bus while nobody waits
  expect(await stream.next()).toEqual({ done: false, value: 7 });
  expect(await stream.next()).toEqual({ done: false, value: 8 });
  expect(await stream.next()).toEqual({ done: false, value: 3 });
  const waiting = stream.next();
  publish(4, 5, 6); // one turn: one batch
  expect(await waiting).toEqual({ done: false, value: 15 });
});

it('holds later batches while an asynchronous one runs, and keeps their order', async () => {
  const logic = new Sums();
  const { stream, publish } = open(logic);
  const first = stream.next();
  publish(100);
  await Promise.resolve();
  await Promise.resolve();
  publish(1); // arrives while the first batch is still being handled
  expect(await first).toEqual({ done: false, value: 100 });
  expect(await stream.next()).toEqual({ done: false, value: 1 });
  expect(logic.batches).toEqual([[100], [1]]);
});

it('serves concurrent next() calls in order', async () => {
  const { stream, publish } = open(new Sums());
  const [a, b] = [stream.next(), stream.next()];
  publish(1);
  await tick();
  publish(2);
  expect(await Promise.all([a, b])).toEqual([{ done: false, value: 1 }, { done: false, value: 2 }]);
});

it('ends on END after what it already emitted, and lets go of its bus subscription', async () => {
  const { bus, stream, publish } = open(new Sums([9]));
  publish(0);
  expect(await stream.next()).toEqual({ done: false, value: 9 });
  expect(await stream.next()).toEqual({ done: true, value: undefined });
  expect(bus.listenerCount(topic)).toBe(0);
  expect(await stream.next()).toEqual({ done: true, value: undefined });
});

it('rejects one next() with the error a batch threw, then is done', async () => {
  const { bus, stream, publish } = open(new Sums());
  const waiting = stream.next();
  publish(-1);
  await expect(waiting).rejects.toThrow('negative');
  expect(await stream.next()).toEqual({ done: true, value: undefined });
  expect(bus.listenerCount(topic)).toBe(0);
});

it('return() ends a waiting next() at once, drops what was not taken, and unregisters', async () => {
  const { bus, stream, publish } = open(new Sums([1, 2]));
  expect(await stream.next()).toEqual({ done: false, value: 1 });
  expect(await stream.return()).toEqual({ done: true, value: undefined });
  expect(await stream.next()).toEqual({ done: true, value: undefined });
  expect(bus.listenerCount(topic)).toBe(0);

  const second = open(new Sums());
  const waiting = second.stream.next();
  await second.stream.return();
  expect(await waiting).toEqual({ done: true, value: undefined });
  second.publish(5);
  expect(second.bus.listenerCount(topic)).toBe(0);
});

it('ends when its bus subscription ends (abort signal, bus closed)', async () => {
  const bus = createMemoryBus();
  const ac = new AbortController();
  const stream = new LiveStream(bus.subscribe(topic, { signal: ac.signal }), new Sums());
  const waiting = stream.next();
  ac.abort();
  expect(await waiting).toEqual({ done: true, value: undefined });

  const closing = open(new Sums());
  const pending = closing.stream.next();
  await closing.bus.close();
  expect(await pending).toEqual({ done: true, value: undefined });
});

it('tells the logic when the bus dropped events for it (overflow)', async () => {
  const seen: boolean[] = [];
  const logic: StreamLogic<number, number> = {
    onBatch(batch, overflowed, out) {
      seen.push(overflowed);
      out.emit(batch.length);
    },
  };
  const { stream, publish } = open(logic, 3);
  publish(1, 2, 3, 4, 5); // nobody waits: the queue of 3 is dropped once
  expect(await stream.next()).toEqual({ done: false, value: 2 });
  const waiting = stream.next();
  publish(6);
  expect(await waiting).toEqual({ done: false, value: 1 });
  expect(seen).toEqual([true, false]);
});

describe('pushed to a out (the fast path of the WebSocket adapter)', () => {
  function out() {
    const log: unknown[] = [];
    return { log, push: (value: unknown) => log.push(value), end: () => log.push('end'), fail: (error: unknown) => log.push(`fail: ${(error as Error).message}`) };
  }

  it('pushes what start emitted, then every batch as it comes, without next()', async () => {
    const { stream, publish } = open(new Sums([7]));
    const target = out();
    publish(1, 2);
    stream[pushToSink](target);
    expect(target.log).toEqual([7]);
    await tick();
    publish(3);
    await tick();
    publish(100); // handled asynchronously: pushed once it is done
    await tick();
    await tick();
    expect(target.log).toEqual([7, 3, 3, 100]);
  });

  it('ends with END or a failure after its last value, and lets go of the bus', async () => {
    const ended = open(new Sums([9]));
    const target = out();
    ended.stream[pushToSink](target);
    ended.publish(0);
    await tick();
    expect(target.log).toEqual([9, 'end']);
    expect(ended.bus.listenerCount(topic)).toBe(0);

    const failed = open(new Sums());
    const failures = out();
    failed.stream[pushToSink](failures);
    failed.publish(-1);
    await tick();
    expect(failures.log).toEqual(['fail: negative']);
    expect(failed.bus.listenerCount(topic)).toBe(0);
  });

  it('return() stops the pushing and unregisters; a out given after the end gets the rest and the end', async () => {
    const { bus, stream, publish } = open(new Sums());
    const target = out();
    stream[pushToSink](target);
    await stream.return();
    publish(5);
    await tick();
    expect(target.log).toEqual(['end']);
    expect(bus.listenerCount(topic)).toBe(0);

    const early = open(new Sums([4]));
    early.publish(0);
    await tick();
    await early.stream.next(); // 4
    const late = out();
    early.stream[pushToSink](late);
    await tick();
    expect(late.log).toEqual(['end']);
  });
});
