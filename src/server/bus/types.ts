/**
 * The event bus contract. Routers and services depend on this interface only; the in-process
 * implementation is the default and a shared one (Redis pub/sub) can replace it for several
 * server instances without touching them.
 *
 * Events are shared: one published object reaches every subscriber of its topic, so `publish`
 * brands it with `share()` (bus/shared.ts: frozen, deeply outside production) and nobody may
 * change it afterwards. That is what lets the WebSocket adapter serialize it once for all of
 * them. A networked bus gives its received copies the same brand before handing them over.
 */

/** A named channel that carries events of type `E`. Build them with `topics` (topics.ts). */
export type Topic<E> = { readonly key: string; readonly __event?: (event: E) => void };

export type SubscribeOptions = {
  /** Aborting ends the iteration and unregisters the listener at once. */
  signal?: AbortSignal;
};

/**
 * Pull: iterating yields every event queued since the previous pull as one batch. Under load the
 * batches grow by themselves, and per-event overhead downstream is paid once per batch.
 */
export type BatchIterable<E> = AsyncIterable<E[]>;

/**
 * Push: batches go to a receiver instead of a pending `next()`, without a promise each. Holding
 * none, an open stream waiting for events costs only its objects.
 */
export interface BatchPush<E> {
  /**
   * Hands batches to `receiver` as they are ready (what is queued now first), for as long as
   * `receiveBatch` returns true; once it returns false, events queue here (bounded, see
   * `OverflowSignal`) until this is called again. When the subscription ends, the receiver gets
   * `receiveEnd()` (at once if it already has). Null stops pushing.
   */
  deliverBatchesTo(receiver: BatchReceiver<E> | null): void;
}

/** Receives pushed batches (methods, so one object serves: no closure per subscription). */
export interface BatchReceiver<E> {
  /** One batch; return true to be handed the next one as well. */
  receiveBatch(batch: E[]): boolean;
  receiveEnd(): void;
}

/** Overflow: a subscriber that fell too far behind loses its queue and must resynchronise from the database. */
export interface OverflowSignal {
  /** True once queued events were dropped since the last call. Reading it resets it. */
  takeOverflow(): boolean;
}

/**
 * A live subscription: pull or push (not both at once), the overflow signal, and `close()`. It is
 * registered when `subscribe()` returns (not at the first `next()`), so a caller can start
 * listening, then query the database, and miss nothing in between.
 */
export interface BusSubscription<E> extends BatchIterable<E>, BatchPush<E>, OverflowSignal {
  /** Ends the subscription now (idempotent): unregisters it and ends the iteration. */
  close(): void;
  /**
   * Stops listening to the abort signal it was opened with (and lets go of it): from now on only
   * `close()` ends it. For a consumer that is sure to close it (see `releaseSignal` in http/push.ts).
   */
  detachSignal(): void;
}

export interface EventBus {
  /**
   * Brands `event` as shared (see above) and hands it to the transport; call it after the
   * commit. Resolves once the transport took it.
   */
  publish<E>(topic: Topic<E>, event: E): Promise<void>;
  /**
   * Delivers to this instance's subscribers only, never to other instances: for fan-out done
   * locally from an event every instance already received (services/inbox-fanout.ts).
   */
  publishLocal<E>(topic: Topic<E>, event: E): void;
  /**
   * One subscriber over one or several topics, delivered in publish order per topic. A topic
   * from `topics.all…` (key ending in `*`) receives every event whose key has that prefix.
   */
  subscribe<E>(topics: Topic<E> | readonly Topic<E>[], options: SubscribeOptions): BusSubscription<E>;
  /**
   * Resolves once events published anywhere on these topics reach subscriptions made before
   * this call (a networked bus confirms its upstream subscription). Absent: at once, as in-process.
   * The streams await it between listening and reading the database.
   */
  whenListening?<E>(topics: Topic<E> | readonly Topic<E>[]): Promise<void>;
  /**
   * True when events published by different instances may reach a subscriber in another order
   * than their commits (a networked bus): streams tracked by a table id then accept late events
   * (streams/replay.ts, `CursorStream`). Absent: one order, as in-process.
   */
  readonly mayReorder?: boolean;
  /** Number of live subscribers of a topic on this instance (the inbox fan-out skips topics nobody here reads). */
  listenerCount<E>(topic: Topic<E>): number;
  close(): Promise<void>;
}
