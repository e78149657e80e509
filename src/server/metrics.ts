/**
 * Prometheus metrics for one server. Each server builds its own registry (passed through deps),
 * so several servers in one process (tests) never share counters or register a name twice.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus } from './bus/types.js';

export type MetricSources = {
  /** Open WebSockets. */
  openSockets?: () => number;
  /** The procedure path of every open subscription. */
  subscriptionPaths?: () => Iterable<string>;
};

/**
 * How often the event-loop delay is sampled. A stall delays the next sample by its length, so any
 * stall over this long is recorded; a shorter one is recorded when a sample falls in it.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

export function createMetrics() {
  const registry = new Registry();
  // Process metrics and nodejs_eventloop_lag_* (event-loop delay, from monitorEventLoopDelay).
  // Its timer samples the delay every EVENT_LOOP_SAMPLE_MS: prom-client's default (10 ms) woke an
  // idle server 100 times a second, most of its CPU with no traffic (BENCHMARKS.md, seventh round).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const sources: MetricSources = {};
  const registers = [registry];

  const metrics = {
    registry,
    /** Where the gauges read live numbers; the HTTP server fills this in once it exists. */
    sources,
    openSockets: new Gauge({
      name: 'realtime_open_sockets',
      help: 'Open WebSocket connections',
      registers,
      collect() {
        this.set(sources.openSockets?.() ?? 0);
      },
    }),
    subscriptions: new Gauge({
      name: 'realtime_subscriptions',
      help: 'Open subscriptions, by procedure',
      labelNames: ['procedure'] as const,
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const path of sources.subscriptionPaths?.() ?? []) counts.set(path, (counts.get(path) ?? 0) + 1);
        for (const [procedure, count] of counts) this.set({ procedure }, count);
      },
    }),
    messagesCommitted: new Counter({ name: 'realtime_messages_committed_total', help: 'Messages stored (retries excluded)', registers }),
    deliveries: new Counter({ name: 'realtime_deliveries_total', help: 'Events handed to subscribers (events x listeners)', registers }),
    commitBatchSize: new Histogram({
      name: 'realtime_commit_batch_size',
      help: 'New messages per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    sendLatency: new Histogram({
      name: 'realtime_send_seconds',
      help: 'message.send and message.group latency, validated input to answer',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    rateLimited: new Counter({
      name: 'realtime_rate_limited_total',
      help: 'Requests refused by a rate limit, by limit',
      labelNames: ['limit'] as const,
      registers,
    }),
    socketCloses: new Counter({
      name: 'realtime_socket_closes_total',
      help: 'WebSocket closes, by close code',
      labelNames: ['code'] as const,
      registers,
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The same bus, counting every event handed to a local subscriber (events x listeners). */
export function countDeliveries(bus: EventBus, metrics: Pick<Metrics, 'deliveries'>): EventBus {
  return {
    publish(topic, event) {
      const listeners = bus.listenerCount(topic);
      if (listeners > 0) metrics.deliveries.inc(listeners);
      return bus.publish(topic, event);
    },
    publishLocal(topic, event) {
      const listeners = bus.listenerCount(topic);
      if (listeners > 0) metrics.deliveries.inc(listeners);
      bus.publishLocal(topic, event);
    },
    subscribe: (topics, options) => bus.subscribe(topics, options),
    // A networked bus's extras (bus/types.ts): the streams rely on them.
    ...(bus.whenListening ? { whenListening: (topics: Parameters<NonNullable<EventBus['whenListening']>>[0]) => bus.whenListening!(topics) } : {}),
    ...(bus.mayReorder ? { mayReorder: bus.mayReorder } : {}),
    listenerCount: (topic) => bus.listenerCount(topic),
    close: () => bus.close(),
  };
}
