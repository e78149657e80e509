import { getEventListeners } from 'node:events';
import { isPushSource, pushToSink, releaseSignal, type PushSink, type PushSource } from '../push.js';
import type { Connection, Stoppable } from './connection.js';
import type { JsonRpc, RequestId } from './frames.js';
import type { Call } from './responder.js';

/**
 * The abort reason of every ended subscription, made once: `abort()` without one builds a
 * DOMException, stack trace included, for each (a reconnect storm ends tens of thousands at once).
 */
const SUBSCRIPTION_ENDED = new DOMException('The subscription ended', 'AbortError');

/**
 * One open subscription of one socket. Its procedure always gets this subscription's abort
 * signal, and `stop()` both aborts it and calls the iterator's `return()`: a stream ends on
 * whichever it listens to, so no stream can outlive its subscription.
 *
 * Delivery: a stream that can push (`PushSource`, push.ts) is handed the subscription as its
 * sink, which saves a promise per value; any other iterator is pumped with two callbacks made
 * once. Either way no async frame is held per stream while it waits. The push path is only a
 * faster way in: ending still goes through `return()`, and through the signal for whatever
 * listens to it. Only a push stream that releases the signal (`releaseSignal`), with nothing
 * else listening to it, lets go of it: `return()` is then what ends it.
 */
export class ActiveSubscription<TContext> implements Stoppable, PushSink<unknown> {
  private iterator: AsyncIterator<unknown> | null = null;
  ended = false;
  private pull: { onNext: (result: IteratorResult<unknown>) => void; onError: (cause: unknown) => void } | null = null;
  /**
   * Aborted when the subscription ends, however it ends: the signal its procedure was given.
   * Null once let go of (a push stream that ends on `return()`, and nothing else listening).
   */
  private ending: AbortController | null = new AbortController();

  constructor(
    private readonly connection: Connection<TContext>,
    private readonly id: RequestId,
    private readonly jsonrpc: JsonRpc,
    private readonly call: Call & { path: string },
  ) {}

  /** For the procedure call (before `start`, so never let go of yet). */
  get signal(): AbortSignal {
    return this.ending!.signal;
  }

  start(iterator: AsyncIterator<unknown>) {
    this.iterator = iterator;
    const { responder, writer } = this.connection;
    responder.result(writer, this.id, this.jsonrpc, 'started');
    if (isPushSource(iterator)) {
      iterator[pushToSink](this);
      return this.letGoOfSignal(iterator);
    }
    this.pull = {
      onNext: (result) => {
        if (this.ended) return;
        if (result.done) return this.end();
        this.push(result.value);
        if (!this.ended) this.pump();
      },
      onError: (cause) => this.fail(cause),
    };
    this.pump();
  }

  private pump() {
    this.iterator!.next().then(this.pull!.onNext, this.pull!.onError);
  }

  push(value: unknown) {
    if (this.ended) return;
    const { responder, writer } = this.connection;
    try {
      responder.data(writer, this.id, this.jsonrpc, value, this.call.path);
    } catch (cause) {
      // A value that cannot be serialized (a BigInt, a cycle) fails its subscription only,
      // answered with the error alone as tRPC's adapter does.
      this.refuse(cause);
      this.returnIterator();
    }
  }

  end() {
    if (!this.ended) this.finish(null);
  }

  fail(cause: unknown) {
    if (!this.ended) this.finish({ cause });
  }

  /** The procedure failed before the stream started, or a value could not be sent: the error alone answers it, as in tRPC's adapter. */
  refuse(cause: unknown) {
    if (this.ended) return;
    this.ended = true;
    this.forget();
    const { connection } = this;
    connection.responder.error(connection.writer, connection.ctx, this.id, this.jsonrpc, cause, this.call);
  }

  /** The client stopped it or the socket closed. */
  stop() {
    if (this.ended) return;
    this.finish(null);
    this.returnIterator();
  }

  /** Answers `stopped`, after the error if it failed (as tRPC's own adapter does), and aborts the signal. */
  private finish(failure: { cause: unknown } | null) {
    this.ended = true;
    this.forget();
    const { connection, id, jsonrpc } = this;
    if (failure) connection.responder.error(connection.writer, connection.ctx, id, jsonrpc, failure.cause, this.call);
    connection.responder.result(connection.writer, id, jsonrpc, 'stopped');
  }

  private forget() {
    const { subscriptions } = this.connection;
    if (subscriptions.get(this.id) === this) subscriptions.delete(this.id);
    this.ending?.abort(SUBSCRIPTION_ENDED);
  }

  /**
   * A push stream that promises to end on `return()` (which `stop()` calls) stops listening to
   * its signal; if then nothing listens to it any more (the procedure set up nothing else on it),
   * the signal is let go of. Anything still listening keeps it, and is aborted as before.
   */
  private letGoOfSignal(source: PushSource<unknown>) {
    if (this.ended || !source[releaseSignal] || !this.ending) return;
    source[releaseSignal]();
    if (getEventListeners(this.ending.signal, 'abort').length === 0) this.ending = null;
  }

  private returnIterator() {
    void this.iterator?.return?.()?.catch(() => undefined);
  }
}
