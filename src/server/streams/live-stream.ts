import type { BatchReceiver, BusSubscription } from '../bus/types.js';
import { pushToSink, releaseSignal, type PushSink, type PushSource } from '../http/push.js';

/** What `StreamLogic.onBatch` returns to end the stream (the subscriber is no longer allowed to read it). */
export const END = Symbol('end of stream');
export type BatchResult = void | typeof END;

/** Where a stream's logic puts what the stream yields. */
export interface StreamOutput<Out> {
  emit(value: Out): void;
}

/**
 * What one stream does with its events. The state it keeps between events lives on the object
 * (a class per stream, methods on the prototype): an open stream waiting for events holds that
 * object, its `LiveStream` and `LogicRunner`, and its bus subscription, and no suspended function
 * or promise.
 */
export interface StreamLogic<E, Out> {
  /** Before going live: the replay or snapshot, emitted to `out`. Live events queue meanwhile. */
  start?(out: StreamOutput<Out>): void | Promise<void>;
  /**
   * One batch of live events (everything published since the last one): `out.emit` what to
   * yield (nothing, one value or several), or return `END`. Synchronous on the common path; a
   * promise when it must read the database (a gap, an overflow, an uncached membership), and the
   * next batch waits for it.
   */
  onBatch(batch: E[], overflowed: boolean, out: StreamOutput<Out>): BatchResult | Promise<BatchResult>;
}

type Waiting<Out> = (result: IteratorResult<Out> | PromiseLike<IteratorResult<Out>>) => void;

/**
 * What a stream procedure returns: the reading side of a stream. It is an async iterator over
 * what its `StreamLogic` emits, and a `PushSource` (http/push.ts) for the WebSocket adapter,
 * which then takes each value as it is emitted, without a promise. Values it holds (`ready`) are
 * what was emitted and not yet taken.
 *
 * It asks its `LogicRunner` for batches only while someone reads: while a `next()` waits, or
 * for good once a push target is set; otherwise events queue in the bus, bounded. It ends on
 * `return()` and on the abort signal its bus subscription was opened with, whichever comes first.
 *
 * Not an async generator on purpose: a suspended generator and the promises chained through it
 * cost memory per open stream, and clients hold several streams each (BENCHMARKS.md, "Figures
 * quoted in the code").
 */
export class LiveStream<E, Out> implements AsyncIterableIterator<Out>, PushSource<Out>, StreamOutput<Out> {
  private ready: Out[] | null = null;
  /** The pending `next()`: its resolver, and its promise (a concurrent `next()` queues behind it). */
  private waiting: Waiting<Out> | null = null;
  private pending: Promise<IteratorResult<Out>> | null = null;
  /** The adapter's sink, once it asked for values pushed (then `next()` is not used). */
  private pushTarget: PushSink<Out> | null = null;
  private finished = false;
  private failure: { error: unknown } | null = null;
  private readonly runner: LogicRunner<E, Out>;

  constructor(live: BusSubscription<E>, logic: StreamLogic<E, Out>) {
    this.runner = new LogicRunner(live, logic, this);
    this.runner.start();
  }

  get isFinished(): boolean {
    return this.finished;
  }

  emit(value: Out) {
    if (this.finished) return;
    // Pushed at once when there is a target: batches are handled one at a time, in order.
    if (this.pushTarget) this.pushTarget.push(value);
    else (this.ready ??= []).push(value);
  }

  /** Whether the runner should hand the logic the next batch as soon as there is one. */
  wantsBatch(): boolean {
    return !this.finished && (this.pushTarget !== null || (this.waiting !== null && this.ready === null));
  }

  /** The runner finished a batch (or `start`): a waiting `next()` takes what it emitted. */
  batchDone() {
    if (this.waiting && this.ready !== null) this.resolve({ done: false, value: this.take() });
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
    this.runner.requestBatches();
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

  [pushToSink](target: PushSink<Out>) {
    if (this.finished) return this.drainInto(target);
    this.pushTarget = target;
    while (this.ready !== null && !this.finished) target.push(this.take());
    this.runner.requestBatches();
  }

  /** The sink ends this stream with `return()`: its bus subscription no longer needs the signal. */
  [releaseSignal]() {
    this.runner.detachSignal();
  }

  /** Ends the stream; what was emitted before is still yielded (not after `return()`, which clears it), then the failure if any. */
  finish() {
    if (this.finished) return;
    this.finished = true;
    this.runner.close();
    if (this.pushTarget) {
      const target = this.pushTarget;
      this.pushTarget = null;
      return this.drainInto(target);
    }
    if (!this.waiting) return;
    if (this.ready !== null) this.resolve({ done: false, value: this.take() });
    else if (this.failure) this.resolve(this.takeFailure());
    else this.resolve({ done: true, value: undefined });
  }

  fail(error: unknown) {
    if (this.finished) return;
    this.failure = { error };
    this.finish();
  }

  /** After the end: what is left, then the end or the failure. */
  private drainInto(target: PushSink<Out>) {
    while (this.ready !== null) target.push(this.take());
    if (this.failure) {
      const { error } = this.failure;
      this.failure = null;
      target.fail(error);
    } else target.end();
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

  private takeFailure(): Promise<never> {
    const { error } = this.failure!;
    this.failure = null;
    return Promise.reject(error);
  }
}

/**
 * The writing side of a stream: receives batches from the bus subscription and runs the
 * `StreamLogic` on them, one at a time, emitting into the `LiveStream`. While a batch is
 * handled asynchronously (`busy`) the next ones wait in the bus. Under push it stays the
 * subscription's receiver from batch to batch; it asks again only after an asynchronous batch or
 * when a reader comes back.
 */
class LogicRunner<E, Out> implements BatchReceiver<E> {
  private busy = false;

  constructor(
    private readonly live: BusSubscription<E>,
    private readonly logic: StreamLogic<E, Out>,
    private readonly stream: LiveStream<E, Out>,
  ) {}

  start() {
    let started: void | Promise<void>;
    try {
      started = this.logic.start?.(this.stream);
    } catch (error) {
      return this.stream.fail(error);
    }
    this.run(started);
  }

  /** The stream has a reader: push batches to this runner (unless one is being handled). */
  requestBatches() {
    if (!this.busy && !this.stream.isFinished) this.live.deliverBatchesTo(this);
  }

  receiveBatch(batch: E[]): boolean {
    if (this.stream.isFinished) return false;
    let result: BatchResult | Promise<BatchResult>;
    try {
      result = this.logic.onBatch(batch, this.live.takeOverflow(), this.stream);
    } catch (error) {
      this.stream.fail(error);
      return false;
    }
    return this.run(result);
  }

  /** From the bus: the subscription ended (bus closed, abort signal). */
  receiveEnd() {
    this.stream.finish();
  }

  close() {
    this.live.close();
  }

  detachSignal() {
    this.live.detachSignal();
  }

  /** True if the batch was handled at once and the stream wants the next one pushed too. */
  private run(result: BatchResult | Promise<BatchResult>): boolean {
    if (!(result instanceof Promise)) return this.settle(result);
    this.busy = true;
    result.then(
      (outcome) => {
        this.busy = false;
        if (this.settle(outcome)) this.live.deliverBatchesTo(this);
      },
      (error: unknown) => {
        this.busy = false;
        this.stream.fail(error);
      },
    );
    return false;
  }

  private settle(outcome: BatchResult): boolean {
    if (this.stream.isFinished) return false;
    if (outcome === END) {
      this.stream.finish();
      return false;
    }
    this.stream.batchDone();
    return this.stream.wantsBatch();
  }
}
