import type { BusConsumer, BusSubscription, EventBus, SubscribeOptions, Topic } from './types.js';

export type MemoryBusOptions = {
  /**
   * Events a subscriber may have queued before its queue is dropped and it is told to
   * resynchronise (a slow or stalled consumer must not grow the heap without bound).
   */
  maxQueue?: number;
};

/** What `publish` returns: delivery to the queues is synchronous, so one settled promise serves every call. */
const handedOver = Promise.resolve();

/**
 * In-process bus: a map from topic key to its subscribers, each with a small array queue.
 * Publishing costs one map lookup plus one push per subscriber of that topic; nothing is
 * filtered per event, and no EventEmitter is involved (no listener limits, no per-iterator
 * buffers of `events.on`).
 */
export function createMemoryBus({ maxQueue = 10_000 }: MemoryBusOptions = {}): EventBus {
  const subscribersByTopic = new Map<string, Set<Subscriber<unknown>>>();
  // Subscribers with events to hand over once the publisher's current run is done: one microtask
  // for all of them, not one (and a closure) per subscriber.
  let toFlush: Array<Subscriber<unknown>> = [];
  const flushAll = () => {
    const list = toFlush;
    toFlush = [];
    for (const subscriber of list) {
      try {
        subscriber.flush();
      } catch (error) {
        // A consumer that throws loses its subscription, not the others' events.
        subscriber.close();
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'BusConsumerError');
      }
    }
  };

  // Methods live on the prototype and the queue is allocated on first use: a server holds one
  // subscriber per open stream (several per connection), so per-instance closures add up.
  class Subscriber<E> implements BusSubscription<E> {
    queue: E[] | null = null;
    overflowed = false;
    done = false;
    wake: ((result: IteratorResult<E[]>) => void) | null = null;
    consumer: BusConsumer<E> | null = null;
    wakeScheduled = false;

    constructor(
      readonly keys: string[],
      readonly signal: AbortSignal | undefined,
    ) {}

    push(event: E) {
      if (this.queue === null) this.queue = [];
      else if (this.queue.length >= maxQueue) {
        this.queue = [];
        this.overflowed = true;
      }
      this.queue.push(event);
      // Wake a waiting consumer once, after the publisher's current run: every event published
      // in the same turn (a committed batch) then travels in one yield, one frame per subscriber.
      if ((this.wake || this.consumer) && !this.wakeScheduled) this.scheduleFlush();
    }

    scheduleFlush() {
      this.wakeScheduled = true;
      if (toFlush.push(this as Subscriber<unknown>) === 1) queueMicrotask(flushAll);
    }

    flush() {
      this.wakeScheduled = false;
      const batch = this.queue;
      if (batch === null || batch.length === 0) return;
      const consumer = this.consumer;
      if (consumer) {
        this.consumer = null;
        this.queue = null;
        return consumer.handleEvents(batch);
      }
      const wake = this.wake;
      if (!wake) return;
      this.wake = null;
      this.queue = null;
      wake({ done: false, value: batch });
    }

    setConsumer(consumer: BusConsumer<E> | null) {
      this.consumer = consumer;
      if (!consumer) return;
      if (this.done) {
        this.consumer = null;
        return consumer.handleEnd();
      }
      if (this.queue !== null && this.queue.length > 0 && !this.wakeScheduled) this.scheduleFlush();
    }

    /** The abort listener (an EventTarget calls `handleEvent` on listener objects). */
    handleEvent() {
      this.close();
    }

    close() {
      if (this.done) return;
      this.done = true;
      for (const key of this.keys) {
        const set = subscribersByTopic.get(key);
        if (!set) continue;
        set.delete(this as Subscriber<unknown>);
        if (set.size === 0) subscribersByTopic.delete(key);
      }
      this.signal?.removeEventListener('abort', this);
      this.queue = null;
      const wake = this.wake;
      this.wake = null;
      wake?.({ done: true, value: undefined });
      const consumer = this.consumer;
      this.consumer = null;
      consumer?.handleEnd();
    }

    takeOverflow() {
      const overflowed = this.overflowed;
      this.overflowed = false;
      return overflowed;
    }

    next(): Promise<IteratorResult<E[]>> {
      const batch = this.queue;
      if (batch !== null && batch.length > 0) {
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

  return {
    publish<E>(topic: Topic<E>, event: E) {
      const set = subscribersByTopic.get(topic.key);
      if (set) for (const subscriber of set) (subscriber as Subscriber<E>).push(event);
      return handedOver;
    },

    subscribe<E>(topicOrTopics: Topic<E> | readonly Topic<E>[], { signal }: SubscribeOptions = {}) {
      const keys = Array.isArray(topicOrTopics)
        ? [...new Set((topicOrTopics as readonly Topic<E>[]).map((topic) => topic.key))]
        : [(topicOrTopics as Topic<E>).key];
      const subscriber = new Subscriber<E>(keys, signal);
      if (signal?.aborted) {
        subscriber.close();
        return subscriber;
      }
      for (const key of keys) {
        let set = subscribersByTopic.get(key);
        if (!set) subscribersByTopic.set(key, (set = new Set()));
        set.add(subscriber as Subscriber<unknown>);
      }
      signal?.addEventListener('abort', subscriber, { once: true });
      return subscriber;
    },

    listenerCount(topic) {
      return subscribersByTopic.get(topic.key)?.size ?? 0;
    },

    async close() {
      for (const set of [...subscribersByTopic.values()]) for (const subscriber of set) subscriber.close();
    },
  };
}
