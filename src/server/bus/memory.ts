import { share } from './shared.js';
import type { BatchReceiver, BusSubscription, EventBus, SubscribeOptions, Topic } from './types.js';

export type MemoryBusOptions = {
  /**
   * Events a subscriber may have queued before its queue is dropped and it is told to
   * resynchronise (a slow or stalled consumer must not grow the heap without bound).
   */
  maxQueue?: number;
  /** A topic (or pattern) got its first local subscriber: a networked bus subscribes upstream then. */
  onTopicActive?: (key: string) => void;
  /** A topic (or pattern) lost its last local subscriber. */
  onTopicIdle?: (key: string) => void;
};

/** The in-process bus, plus what a networked bus built on it needs. */
export type MemoryBus = EventBus & {
  /**
   * Tells every subscriber it may have missed events (the upstream connection dropped): each
   * gets a batch, empty if nothing is queued, with `takeOverflow()` true, and resynchronises
   * from the database.
   */
  markAllBehind(): void;
  /**
   * The same for the subscribers of these keys (topics or patterns) only: a networked bus whose
   * upstream subscription for them changed and may have lost events in between.
   */
  markBehind(keys: Iterable<string>): void;
  /**
   * Delivers to this instance's subscribers of the exact key only, to those of a pattern
   * matching it only, or to both: a networked bus receives an event once per upstream
   * subscription (a channel and a pattern covering it are two) and hands each copy to the
   * subscribers that subscription serves.
   */
  deliver<E>(topic: Topic<E>, event: E, to: 'exact' | 'pattern' | 'all'): void;
};

/** What `publish` returns: delivery to the queues is synchronous, so one settled promise serves every call. */
const handedOver = Promise.resolve();

/** `conversation:*` → `conversation:`; null for a plain topic key. Patterns match up to the first colon. */
function patternPrefix(key: string): string | null {
  return key.endsWith(':*') && key.indexOf(':') === key.length - 2 ? key.slice(0, -1) : null;
}

/**
 * In-process bus: a map from topic key to its subscribers, each with a small array queue.
 * Publishing costs one map lookup plus one push per subscriber of that topic (and one more lookup
 * while someone listens to a pattern); nothing is filtered per event, and no EventEmitter is
 * involved (no listener limits, no per-iterator buffers of `events.on`). One process is one
 * instance, so `publishLocal` is `publish`.
 */
export function createMemoryBus({ maxQueue = 10_000, onTopicActive, onTopicIdle }: MemoryBusOptions = {}): MemoryBus {
  const registry = new Registry(maxQueue, onTopicActive, onTopicIdle);

  function publish<E>(topic: Topic<E>, event: E, to: 'exact' | 'pattern' | 'all' = 'all') {
    const shared = share(event);
    const set = to === 'pattern' ? undefined : registry.byKey.get(topic.key);
    if (set) for (const subscriber of set) (subscriber as Subscriber<E>).push(shared);
    if (to !== 'exact' && registry.byPrefix.size > 0) {
      const prefix = topic.key.slice(0, topic.key.indexOf(':') + 1);
      const matching = prefix === '' ? undefined : registry.byPrefix.get(prefix);
      if (matching) for (const subscriber of matching) (subscriber as Subscriber<E>).push(shared);
    }
  }

  return {
    publish<E>(topic: Topic<E>, event: E) {
      publish(topic, event);
      return handedOver;
    },

    publishLocal: (topic, event) => publish(topic, event),

    deliver: publish,

    subscribe<E>(topicOrTopics: Topic<E> | readonly Topic<E>[], { signal }: SubscribeOptions = {}) {
      const keys = Array.isArray(topicOrTopics)
        ? [...new Set((topicOrTopics as readonly Topic<E>[]).map((topic) => topic.key))]
        : [(topicOrTopics as Topic<E>).key];
      const subscriber = new Subscriber<E>(registry, keys, signal);
      if (signal?.aborted) {
        subscriber.close();
        return subscriber;
      }
      registry.add(subscriber as Subscriber<unknown>);
      signal?.addEventListener('abort', subscriber, { once: true });
      return subscriber;
    },

    markAllBehind() {
      markBehind([...registry.byKey.values(), ...registry.byPrefix.values()]);
    },

    markBehind(keys) {
      const sets: Array<Set<Subscriber<unknown>>> = [];
      for (const topicKey of keys) {
        const { map, key } = registry.slotOf(topicKey);
        const set = map.get(key);
        if (set) sets.push(set);
      }
      markBehind(sets);
    },

    listenerCount(topic) {
      const { map, key } = registry.slotOf(topic.key);
      return map.get(key)?.size ?? 0;
    },

    async close() {
      for (const map of [registry.byKey, registry.byPrefix]) {
        for (const set of [...map.values()]) for (const subscriber of [...set]) subscriber.close();
      }
    },
  };
}

/** Marks each subscriber in these sets behind once, however many of them it is in. */
function markBehind(sets: Iterable<Set<Subscriber<unknown>>>) {
  const all = new Set<Subscriber<unknown>>();
  for (const set of sets) for (const subscriber of set) all.add(subscriber);
  for (const subscriber of all) subscriber.markBehind();
}

/** One bus's subscribers by key and by pattern prefix, and its flush queue. */
class Registry {
  readonly byKey = new Map<string, Set<Subscriber<unknown>>>();
  readonly byPrefix = new Map<string, Set<Subscriber<unknown>>>();
  // Subscribers with events to hand over once the publisher's current run is done: one microtask
  // for all of them, not one (and a closure) per subscriber.
  private toFlush: Array<Subscriber<unknown>> = [];

  constructor(
    readonly maxQueue: number,
    private readonly onTopicActive?: (key: string) => void,
    private readonly onTopicIdle?: (key: string) => void,
  ) {}

  slotOf(key: string) {
    const prefix = patternPrefix(key);
    return prefix === null ? { map: this.byKey, key } : { map: this.byPrefix, key: prefix };
  }

  add(subscriber: Subscriber<unknown>) {
    for (const topicKey of subscriber.keys) {
      const { map, key } = this.slotOf(topicKey);
      let set = map.get(key);
      if (!set) {
        map.set(key, (set = new Set()));
        this.onTopicActive?.(topicKey);
      }
      set.add(subscriber);
    }
  }

  remove(subscriber: Subscriber<unknown>) {
    for (const topicKey of subscriber.keys) {
      const { map, key } = this.slotOf(topicKey);
      const set = map.get(key);
      if (!set) continue;
      set.delete(subscriber);
      if (set.size === 0) {
        map.delete(key);
        this.onTopicIdle?.(topicKey);
      }
    }
  }

  scheduleFlush(subscriber: Subscriber<unknown>) {
    if (this.toFlush.push(subscriber) === 1) queueMicrotask(this.flushAll);
  }

  private readonly flushAll = () => {
    const list = this.toFlush;
    this.toFlush = [];
    for (const subscriber of list) {
      try {
        subscriber.flush();
      } catch (error) {
        // A receiver that throws loses its subscription, not the others' events.
        subscriber.close();
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'BusConsumerError');
      }
    }
  };
}

/**
 * One subscription. Methods live on the prototype and the queue is allocated on first use: a
 * server holds one subscriber per open stream (several per connection), so per-instance closures
 * add up.
 */
class Subscriber<E> implements BusSubscription<E> {
  queue: E[] | null = null;
  overflowed = false;
  done = false;
  /** A pending `next()` (pull). */
  wake: ((result: IteratorResult<E[]>) => void) | null = null;
  /** Where batches are pushed (push). */
  receiver: BatchReceiver<E> | null = null;
  flushScheduled = false;

  constructor(
    private readonly registry: Registry,
    readonly keys: string[],
    private signal: AbortSignal | undefined,
  ) {}

  push(event: E) {
    if (this.queue === null) this.queue = [];
    else if (this.queue.length >= this.registry.maxQueue) {
      this.queue = [];
      this.overflowed = true;
    }
    this.queue.push(event);
    // Hand over once, after the publisher's current run: every event published in the same
    // turn (a committed batch) then travels in one batch, one frame per subscriber.
    if ((this.wake || this.receiver) && !this.flushScheduled) this.scheduleFlush();
  }

  private scheduleFlush() {
    this.flushScheduled = true;
    this.registry.scheduleFlush(this as Subscriber<unknown>);
  }

  flush() {
    this.flushScheduled = false;
    const batch = this.queue;
    // An empty batch is handed over only to say "you are behind" (markAllBehind).
    if (batch === null || (batch.length === 0 && !this.overflowed)) return;
    const receiver = this.receiver;
    if (receiver) {
      this.receiver = null;
      this.queue = null;
      if (receiver.receiveBatch(batch) && !this.done && this.receiver === null) this.deliverBatchesTo(receiver);
      return;
    }
    const wake = this.wake;
    if (!wake) return;
    this.wake = null;
    this.queue = null;
    wake({ done: false, value: batch });
  }

  deliverBatchesTo(receiver: BatchReceiver<E> | null) {
    this.receiver = receiver;
    if (!receiver) return;
    if (this.done) {
      this.receiver = null;
      return receiver.receiveEnd();
    }
    if (this.queue !== null && (this.queue.length > 0 || this.overflowed) && !this.flushScheduled) this.scheduleFlush();
  }

  markBehind() {
    if (this.done) return;
    this.overflowed = true;
    if (this.queue === null) this.queue = [];
    if ((this.wake || this.receiver) && !this.flushScheduled) this.scheduleFlush();
  }

  /** The abort listener (an EventTarget calls `handleEvent` on listener objects). */
  handleEvent() {
    this.close();
  }

  detachSignal() {
    this.signal?.removeEventListener('abort', this);
    this.signal = undefined;
  }

  close() {
    if (this.done) return;
    this.done = true;
    this.registry.remove(this as Subscriber<unknown>);
    this.signal?.removeEventListener('abort', this);
    this.queue = null;
    const wake = this.wake;
    this.wake = null;
    wake?.({ done: true, value: undefined });
    const receiver = this.receiver;
    this.receiver = null;
    receiver?.receiveEnd();
  }

  takeOverflow() {
    const overflowed = this.overflowed;
    this.overflowed = false;
    return overflowed;
  }

  next(): Promise<IteratorResult<E[]>> {
    const batch = this.queue;
    if (batch !== null && (batch.length > 0 || this.overflowed)) {
      this.queue = null;
      return Promise.resolve({ done: false, value: batch });
    }
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  return(): Promise<IteratorResult<E[]>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
