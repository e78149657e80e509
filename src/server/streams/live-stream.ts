import type { BusConsumer, BusSubscription } from '../bus/types.js';
import { pushToSink, type PushSink, type PushSource } from '../http/push.js';

/** What `StreamLogic.onBatch` returns to end the stream (the subscriber is no longer allowed to read it). */
export const END = Symbol('end of stream');
export type BatchResult = void | typeof END;

/** Where a stream's logic hands what the stream yields. */
export interface StreamSink<Out> {
  emit(value: Out): void;
}

/**
 * What one stream does with its events. The state it keeps between events lives on the object
 * (a class per stream, methods on the prototype): an open stream waiting for events holds that
 * object, its `LiveStream` and its bus subscription, and no suspended function or promise.
 */
export interface StreamLogic<E, Out> {
  /** Before going live: the replay or snapshot, handed to `sink`. Live events queue meanwhile. */
  start?(sink: StreamSink<Out>): void | Promise<void>;
  /**
   * One batch of live events (everything published since the last one): `sink.emit` what to
   * yield (nothing, one value or several), or return `END`. Synchronous on the common path; a
   * promise when it must read the database (a gap, an overflow, an uncached membership), and the
   * next batch waits for it.
   */
  onBatch(batch: E[], overflowed: boolean, sink: StreamSink<Out>): BatchResult | Promise<BatchResult>;
}

type Waiting<Out> = (result: IteratorResult<Out> | PromiseLike<IteratorResult<Out>>) => void;

/**
 * What a stream procedure returns: an async iterator over what its `StreamLogic` emits, fed by
 * its bus subscription in push mode (`BusSubscription.setConsumer`) only while someone waits in
 * `next()`; otherwise events queue in the bus, bounded. The WebSocket adapter takes the values
 * pushed instead (`PushSource`, http/push.ts): the bus subscription then stays armed and each
 * batch goes to the socket without a promise. `return()` closes the bus subscription
 * first, so a stream waiting for the next event ends at once without an abort signal (see
 * `endsOnReturn` in trpc.ts); `for await … break` under createCaller too.
 *
 * Not an async generator on purpose: a suspended generator and the promises chained through it
 * cost about 1 KB per open stream, and clients hold several streams each (BENCHMARKS.md).
 */
export class LiveStream<E, Out> implements AsyncIterableIterator<Out>, PushSource<Out>, BusConsumer<E>, StreamSink<Out> {
  /** Emitted, not yet taken by `next()`. */
  private ready: Out[] | null = null;
  /** The pending `next()`: its resolver, and its promise (a concurrent `next()` queues behind it). */
  private waiting: Waiting<Out> | null = null;
  private pending: Promise<IteratorResult<Out>> | null = null;
  /** Where values go once a consumer asked for them pushed (then `next()` is not used). */
  private sink: PushSink<Out> | null = null;
  /** `start` or an asynchronous `onBatch` is running. */
  private busy = false;
  private finished = false;
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly live: BusSubscription<E>,
    private readonly logic: StreamLogic<E, Out>,
  ) {
    let started: void | Promise<void>;
    try {
      started = logic.start?.(this);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.run(started);
  }

  emit(value: Out) {
    if (this.finished) return;
    // Pushed at once when a sink is there: batches are handled one at a time, in order.
    if (this.sink) this.sink.push(value);
    else (this.ready ??= []).push(value);
  }

  /** From the bus: the next batch (the consumer was armed by a waiting `next()`). */
  handleEvents(batch: E[]) {
    if (this.finished) return;
    let result: BatchResult | Promise<BatchResult>;
    try {
      result = this.logic.onBatch(batch, this.live.takeOverflow(), this);
    } catch (error) {
      return this.fail(error);
    }
    this.run(result);
  }

  /** From the bus: the subscription ended (bus closed, abort signal). */
  handleEnd() {
    this.finish();
  }

  next(): Promise<IteratorResult<Out>> {
    if (this.ready !== null) return Promise.resolve({ done: false, value: this.take() });
    if (this.failure) return this.takeFailure();
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    if (this.pending) return this.pending.then(() => this.next(), () => this.next());
    const promise = new Promise<IteratorResult<Out>>((resolve) => {
      this.waiting = resolve;
    });
    this.pending = promise;
    if (!this.busy) this.live.setConsumer(this);
    return promise;
  }

  return(value?: unknown): Promise<IteratorResult<Out>> {
    this.ready = null;
    this.failure = null;
    this.finish();
    return Promise.resolve({ done: true, value: value as Out });
  }

  throw(error?: unknown): Promise<IteratorResult<Out>> {
    this.ready = null;
    this.failure = null;
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  [pushToSink](sink: PushSink<Out>) {
    if (this.finished) return this.drainInto(sink);
    this.sink = sink;
    if (!this.busy) this.feed();
  }

  /** Pushes what is ready and listens for the next batch. */
  private feed() {
    const sink = this.sink!;
    while (this.ready !== null && !this.finished) sink.push(this.take());
    if (!this.finished) this.live.setConsumer(this);
  }

  /** After the end: what is left, then the end or the failure. */
  private drainInto(sink: PushSink<Out>) {
    while (this.ready !== null) sink.push(this.take());
    if (this.failure) {
      const { error } = this.failure;
      this.failure = null;
      sink.fail(error);
    } else sink.end();
  }

  private run(result: BatchResult | Promise<BatchResult>) {
    if (result instanceof Promise) {
      this.busy = true;
      result.then(
        (outcome) => this.settle(outcome),
        (error: unknown) => this.fail(error),
      );
    } else this.settle(result);
  }

  private settle(outcome: BatchResult) {
    this.busy = false;
    if (this.finished) return;
    if (outcome === END) return this.finish();
    if (this.sink) return this.feed();
    if (!this.waiting) return;
    if (this.ready !== null) this.resolve({ done: false, value: this.take() });
    else this.live.setConsumer(this); // nothing to yield from that batch: wait for the next one
  }

  private take(): Out {
    const ready = this.ready!;
    const value = ready.shift()!;
    if (ready.length === 0) this.ready = null;
    return value;
  }

  private resolve(result: IteratorResult<Out> | PromiseLike<IteratorResult<Out>>) {
    const waiting = this.waiting!;
    this.waiting = null;
    this.pending = null;
    waiting(result);
  }

  /** Ends the stream; what was emitted before is still yielded (not after `return()`, which clears it), then the failure if any. */
  private finish() {
    if (this.finished) return;
    this.finished = true;
    this.live.close();
    if (this.sink) {
      const sink = this.sink;
      this.sink = null;
      return this.drainInto(sink);
    }
    if (!this.waiting) return;
    if (this.ready !== null) this.resolve({ done: false, value: this.take() });
    else if (this.failure) this.resolve(this.takeFailure());
    else this.resolve({ done: true, value: undefined });
  }

  private fail(error: unknown) {
    if (this.finished) return;
    this.failure = { error };
    this.finish();
  }

  private takeFailure(): Promise<never> {
    const { error } = this.failure!;
    this.failure = null;
    return Promise.reject(error);
  }
}
