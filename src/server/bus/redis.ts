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
 * The pattern that would carry `key` (`conversation:7` → `conversation:*`): the in-process bus
 * matches patterns up to the first colon. Null for a pattern or a key without a colon.
 */
function patternOf(key: string): string | null {
  const colon = key.indexOf(':');
  return colon < 0 || isPattern(key) ? null : `${key.slice(0, colon + 1)}*`;
}

/**
 * The event bus for several instances. Each instance subscribes upstream once per topic (or
 * pattern, `conversation:*`) that has local subscribers, reference-counted by the in-process bus
 * underneath, which fans each event out to its local subscribers. It publishes to Redis only:
 * its own subscribers get the event back from Redis like every other instance's, so one topic
 * has one order everywhere (one publisher connection, one subscriber connection: Redis keeps
 * their order across channels too). `publishLocal` never leaves the instance.
 *
 * A topic that becomes active while a pattern covering it is subscribed takes no channel of its
 * own: it rides on the pattern. Redis sends a message once per matching subscription, and every
 * instance holds `conversation:*` (the inbox fan-out), so a channel per open conversation would
 * double each delivery and its parse; the pattern's one copy goes to the topic's subscribers and
 * the pattern's alike. A topic that became active first keeps its channel (the pattern's copy
 * then serves the pattern's subscribers only), and when a pattern goes idle the topics riding on
 * it subscribe on their own and are told they are behind, as below.
 *
 * Redis pub/sub keeps nothing, so a connection that drops loses what was published meanwhile:
 * when the subscriber connection is back, every local subscription is told it is behind
 * (`markAllBehind`) and replays from the database after its own cursor, as after an overflow.
 */
export function createRedisBus({ publisher, subscriber, channelPrefix = '', maxQueue, onError = () => {}, onResync }: RedisBusOptions): EventBus {
  /** Upstream subscriptions (channels and patterns), each settled once Redis confirmed it. */
  const listening = new Map<string, Promise<void>>();
  /** Active topics without a channel of their own → the pattern that carries them. */
  const ridesOn = new Map<string, string>();
  const channel = (key: string) => channelPrefix + key;
  const keyOf = (from: string) => (from.startsWith(channelPrefix) ? from.slice(channelPrefix.length) : null);

  const upstream = (key: string) =>
    (isPattern(key) ? subscriber.psubscribe(channel(key)) : subscriber.subscribe(channel(key))).then(
      () => {},
      // Redis is away: the 'ready' handler below subscribes again and marks everyone behind.
      (error: unknown) => onError(error),
    );

  function activate(key: string) {
    const pattern = patternOf(key);
    if (pattern !== null && listening.has(pattern)) ridesOn.set(key, pattern);
    else listening.set(key, upstream(key));
  }

  function deactivate(key: string) {
    // Riding, it holds nothing upstream to give back.
    if (ridesOn.delete(key)) return;
    listening.delete(key);
    if (isPattern(key)) {
      releaseRiders(key);
      subscriber.punsubscribe(channel(key)).catch(onError);
    } else {
      subscriber.unsubscribe(channel(key)).catch(onError);
    }
  }

  /**
   * The topics riding on an idle pattern subscribe on their own, before its PUNSUBSCRIBE goes out
   * (Redis then holds one or the other throughout). The pattern's copies are no longer theirs, so
   * what arrives before their SUBSCRIBE lands reaches none of their subscribers: once it is
   * confirmed, they replay from the database (confirmed first: a replay that read before could
   * miss what is published until then).
   */
  function releaseRiders(pattern: string) {
    const keys = [...ridesOn].filter(([, carrier]) => carrier === pattern).map(([key]) => key);
    if (keys.length === 0) return;
    for (const key of keys) {
      ridesOn.delete(key);
      listening.set(key, upstream(key));
    }
    void Promise.all(keys.map((key) => listening.get(key))).then(() => local.markBehind(keys));
  }

  const local = createMemoryBus({ maxQueue, onTopicActive: activate, onTopicIdle: deactivate });

  const receive = (key: string, message: string, to: 'exact' | 'pattern' | 'all') => {
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch (error) {
      return onError(error);
    }
    // `deliver` shares the parsed copy: serialized once for every local subscriber.
    local.deliver({ key }, event, to);
  };
  subscriber.on('message', (from: string, message: string) => {
    const key = keyOf(from);
    // A riding topic takes the pattern's copy: this one comes late from a channel it had before
    // (its UNSUBSCRIBE not through yet when it became active again).
    if (key !== null && !ridesOn.has(key)) receive(key, message, 'exact');
  });
  subscriber.on('pmessage', (pattern: string, from: string, message: string) => {
    const key = keyOf(from);
    if (key === null) return;
    // A riding topic has no other copy: this one is parsed once for its subscribers and the pattern's.
    const carrier = ridesOn.get(key);
    receive(key, message, carrier !== undefined && pattern === channel(carrier) ? 'all' : 'pattern');
  });

  let connectedOnce = subscriber.status === 'ready';
  subscriber.on('ready', () => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    // Back after a drop: subscribe again to everything (ioredis resubscribes only what had
    // succeeded; riding topics come back with their pattern), then let every subscription catch
    // up from the database.
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
      // A riding topic listens once its pattern does.
      await Promise.all(list.map((topic) => listening.get(ridesOn.get(topic.key) ?? topic.key)));
    },
    listenerCount: local.listenerCount,
    async close() {
      await local.close();
    },
  };
}
