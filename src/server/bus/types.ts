/**
 * The event bus contract. Routers and services depend on this interface only; the in-process
 * implementation is the default and a shared one (Redis pub/sub) can replace it for several
 * server instances without touching them.
 */

/** A named channel that carries events of type `E`. Build them with `topics` (topics.ts). */
export type Topic<E> = { readonly key: string; readonly __event?: (event: E) => void };

export type SubscribeOptions = {
  /** Aborting ends the iteration and unregisters the listener at once. */
  signal?: AbortSignal;
};

/**
 * A live subscription. It is registered when `subscribe()` returns (not at the first `next()`),
 * so a caller can start listening, then query the database, and miss nothing in between.
 * Iterating yields every event queued since the previous pull as one batch: under load the
 * batches grow by themselves and per-event overhead downstream is paid once per batch.
 */
export interface BusSubscription<E> extends AsyncIterable<E[]> {
  /**
   * True once the subscriber fell so far behind that queued events were dropped; a stream
   * must then resynchronise from the database. Reading it resets it.
   */
  takeOverflow(): boolean;
  /** Ends the subscription now (idempotent): unregisters it and ends the iteration. */
  close(): void;
  /**
   * Push instead of pull, for one batch: the next batch (what is queued now, or the next event
   * published) goes to `consumer.handleEvents` instead of to a pending `next()`, and the consumer
   * is then cleared, so a consumer that does not ask again lets events queue here (bounded, see
   * `takeOverflow`). When the subscription ends, an armed consumer gets `handleEnd()` (at once if
   * it already has). Holding no promise, an open stream waiting for events costs only its objects.
   */
  setConsumer(consumer: BusConsumer<E> | null): void;
}

/** Receives pushed batches (methods, so one object serves: no closure per subscription). */
export interface BusConsumer<E> {
  handleEvents(batch: E[]): void;
  handleEnd(): void;
}

export interface EventBus {
  /** Resolves once the event is handed to the transport; call it after the commit. */
  publish<E>(topic: Topic<E>, event: E): Promise<void>;
  /** One subscriber over one or several topics, delivered in publish order per topic. */
  subscribe<E>(topics: Topic<E> | readonly Topic<E>[], options: SubscribeOptions): BusSubscription<E>;
  /** Number of live subscribers of a topic (diagnostics and tests). */
  listenerCount<E>(topic: Topic<E>): number;
  close(): Promise<void>;
}
