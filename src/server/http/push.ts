/**
 * An optional fast path between a subscription's stream and the WebSocket adapter. An iterator
 * that has this method is handed a sink once and pushes each value to it as it comes, instead of
 * being pulled with `next()`: no promise per value, and none held while the stream waits. It is
 * still a complete async iterator for every other consumer (createCaller, tRPC's own adapters),
 * and `return()` still ends it. `LiveStream` (src/server/streams/live-stream.ts) implements it.
 */
export const pushToSink = Symbol.for('trpc-social-realtime.pushToSink');

export interface PushSink<T> {
  /** The next value, in order. */
  push(value: T): void;
  /** The stream ended (after its last value). */
  end(): void;
  /** The stream failed (after its last value). */
  fail(error: unknown): void;
}

/**
 * An optional promise of a push source to its sink: "you end me with `return()`, so I stop
 * listening to the abort signal I was opened with". The adapter then lets go of that signal if
 * nothing else listens to it (an AbortController costs ~0.7 KB in Node 20, and a connection
 * holds several streams: BENCHMARKS.md, "Figures quoted in the code").
 */
export const releaseSignal = Symbol.for('trpc-social-realtime.releaseSignal');

export interface PushSource<T> {
  /** Called at most once; the values come from then on. */
  [pushToSink](sink: PushSink<T>): void;
  /** See `releaseSignal`; called after `pushToSink`, only by a sink that ends the stream with `return()`. */
  [releaseSignal]?(): void;
}

export function isPushSource(value: unknown): value is PushSource<unknown> {
  return typeof (value as Partial<PushSource<unknown>> | null)?.[pushToSink] === 'function';
}
