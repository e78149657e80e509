import type { EventBus } from '../bus/types.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Orm } from '../db/orm.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** What every service is built from; the same object runs under createCaller, sockets and benchmarks. */
export type Deps = {
  orm: Orm;
  bus: EventBus;
  clock: Clock;
  config: Config;
  logger: Logger;
  /** This server's Prometheus registry and metrics (never prom-client's global one). */
  metrics: Metrics;
};
