import type { Redis } from 'ioredis';
import { createMemoryBus } from './memory.js';
import { share } from './shared.js';
import type { EventBus, Topic } from './types.js';

export type RedisBusOptions = {
  /** Publishes (a normal connection: commands queue while it reconnects and go out in order). */
  publisher: Redis;
  /** Receives (put in subscriber mode by this bus; not usable for anything else). */
  subscriber: Redis;
  /** Prepended to every channel (ioredis' keyPrefix does not apply to channels). */
  channelPrefix?: string;
  maxQueue?: number;
  /** Where a failed upstream (un)subscribe or an unreadable event is reported. */
  onError?: (error: unknown) => void;
  /** Called after the subscriber connection came back and every subscription was told it is behind. */
  onResync?: () => void;
};

const isPattern = (key: string) => key.endsWith('*');

/**
 * The event bus for several instances. Each instance subscribes upstream once per topic (or
 * pattern, `conversation:*`) that has local subscribers, reference-counted by the in-process bus
 * underneath, which fans each event out to its local subscribers. It publishes to Redis only:
 * its own subscribers get the event back from Redis like every other instance's, so one topic
 * has one order everywhere (one publisher connection, one subscriber connection: Redis keeps
 * their order across channels too). `publishLocal` never leaves the instance.
 *
 * Redis pub/sub keeps nothing, so a connection that drops loses what was published meanwhile:
 * when the subscriber connection is back, every local subscription is told it is behind
 * (`markAllBehind`) and replays from the database after its own cursor, as after an overflow.
 */
export function createRedisBus({ publisher, subscriber, channelPrefix = '', maxQueue, onError = () => {}, onResync }: RedisBusOptions): EventBus {
  const listening = new Map<string, Promise<void>>();
  const channel = (key: string) => channelPrefix + key;

  const upstream = (key: string) =>
    (isPattern(key) ? subscriber.psubscribe(channel(key)) : subscriber.subscribe(channel(key))).then(
      () => {},
      // Redis is away: the 'ready' handler below subscribes again and marks everyone behind.
      (error: unknown) => onError(error),
    );

  const local = createMemoryBus({
    maxQueue,
    onTopicActive: (key) => listening.set(key, upstream(key)),
    onTopicIdle(key) {
      listening.delete(key);
      (isPattern(key) ? subscriber.punsubscribe(channel(key)) : subscriber.unsubscribe(channel(key))).catch(onError);
    },
  });

  const receive = (from: string, message: string, to: 'exact' | 'pattern') => {
    if (!from.startsWith(channelPrefix)) return;
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch (error) {
      return onError(error);
    }
    // `deliver` shares the parsed copy: serialized once for every local subscriber.
    local.deliver({ key: from.slice(channelPrefix.length) }, event, to);
  };
  subscriber.on('message', (from: string, message: string) => receive(from, message, 'exact'));
  subscriber.on('pmessage', (_pattern: string, from: string, message: string) => receive(from, message, 'pattern'));

  let connectedOnce = subscriber.status === 'ready';
  subscriber.on('ready', () => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    // Back after a drop: subscribe again to everything (ioredis resubscribes only what had
    // succeeded), then let every subscription catch up from the database.
    for (const key of listening.keys()) listening.set(key, upstream(key));
    // Only once Redis confirmed them: a replay that read the database before that would miss
    // what is published between its read and the subscription, until the next event of its topic.
    void Promise.all(listening.values()).then(() => {
      local.markAllBehind();
      onResync?.();
    });
  });

  return {
    async publish<E>(topic: Topic<E>, event: E) {
      await publisher.publish(channel(topic.key), JSON.stringify(share(event)));
    },
    publishLocal: local.publishLocal,
    subscribe: local.subscribe,
    mayReorder: true,
    async whenListening(topics) {
      const list: ReadonlyArray<Topic<unknown>> = Array.isArray(topics) ? topics : [topics];
      await Promise.all(list.map((topic) => listening.get(topic.key)));
    },
    listenerCount: local.listenerCount,
    async close() {
      await local.close();
    },
  };
}
