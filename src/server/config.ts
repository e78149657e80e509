import { z } from 'zod';
import { TIMINGS } from '../shared/limits.js';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const originList = z
  .string()
  .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
  .pipe(z.array(z.url({ protocol: /^https?$/ })));

/** Environment variables the server reads, all optional. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** SQLite file path, or `:memory:` (the embedded store, used when DATABASE_URL is not set). */
  DATABASE_PATH: z.string().min(1).default('./data/realtime.sqlite'),
  /** `postgres://user:password@host:port/database`: run on PostgreSQL instead of SQLite. */
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  /** PostgreSQL schema for the tables (default: the database's `public`). */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').optional(),
  /** Connections the PostgreSQL pool may open. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  /** Apply pending migrations at start (`false`: run `npm run migrate` yourself first). */
  MIGRATE_ON_START: booleanFromEnv.default(true),
  /** How long to keep retrying an unreachable database at start before giving up. */
  DATABASE_CONNECT_TIMEOUT_S: z.coerce.number().min(0).max(3600).default(30),
  /** Origins allowed to open the WebSocket besides the server's own (comma-separated URLs). */
  ALLOWED_ORIGINS: originList.default([]),
  /** Set when served over https so the session cookie is `Secure`. */
  COOKIE_SECURE: booleanFromEnv.default(false),
  SESSION_TTL_DAYS: z.coerce.number().positive().max(365).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Bearer token that lets trusted backend code call `notification.push` over HTTP. */
  SERVICE_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Create demo users, conversations and a group on an empty database. */
  SEED_DEMO: booleanFromEnv.optional(),
  /** `redis://…` or `rediss://…`: share the bus, typing, presence and rate limits between instances. */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  /** Prepended to every Redis key and channel (several deployments on one Redis). */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{0,64}$/, 'letters, digits and : _ . - only (at most 64)').default('rt:'),
  /** Behind a load balancer: take the client IP (rate limits, logs) from X-Forwarded-For. */
  TRUST_PROXY: booleanFromEnv.default(false),
  /**
   * With Redis: how long an instance's claim that a user is online lasts without renewal (it
   * renews every third of it). Bounds how long users of an instance that died stay "online".
   */
  PRESENCE_HOLD_S: z.coerce.number().min(3).max(600).default(30),
  /** How long to keep retrying an unreachable Redis at start before giving up. */
  REDIS_CONNECT_TIMEOUT_S: z.coerce.number().min(0).max(3600).default(30),
});

export type Env = z.infer<typeof envSchema>;

export type Config = {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  databasePath: string;
  /** PostgreSQL URL; null runs the embedded SQLite store at `databasePath`. */
  databaseUrl: string | null;
  databaseSchema: string | null;
  databasePoolSize: number;
  migrateOnStart: boolean;
  databaseConnectTimeoutMs: number;
  allowedOrigins: string[];
  cookieSecure: boolean;
  sessionTtlMs: number;
  logLevel: Env['LOG_LEVEL'];
  serviceToken: string | null;
  seedDemo: boolean;
  /** Redis URL; null keeps the bus and the ephemeral stores in process (one instance). */
  redisUrl: string | null;
  redisPrefix: string;
  redisConnectTimeoutMs: number;
  presenceHoldMs: number;
  /** Read the client IP from X-Forwarded-For (set only behind a proxy that sets it). */
  trustProxy: boolean;
  /** Realtime timings (see TIMINGS); overridable so tests and deployments can tune them. */
  timings: Timings;
  /** What one WebSocket may cost the server before it is refused or closed. */
  connectionLimits: ConnectionLimits;
};

export type ConnectionLimits = {
  /** Open subscriptions per socket; more is TOO_MANY_REQUESTS (the web app holds about six). */
  maxSubscriptions: number;
  /** Frames a socket may send per second on average, and in a burst; beyond, it is closed (1008). */
  framesPerSecond: number;
  framesBurst: number;
  /** Unsent bytes queued for a socket that does not read; beyond, it is terminated. */
  maxBufferedBytes: number;
  bufferCheckMs: number;
  /** How often open sockets are checked against their session's expiry (an expired one is closed, 4001). */
  sessionCheckMs: number;
};

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxSubscriptions: 64,
  framesPerSecond: 500,
  framesBurst: 1_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  bufferCheckMs: 1_000,
  sessionCheckMs: 60_000,
};

/**
 * The shared timings, and the server's own: how long offline-notification candidates gather
 * before one presence lookup and one insert serve them all (services/notifications.ts; optional,
 * so timings written before it still type-check). Nobody waits on those notifications (their
 * users are offline).
 */
export const OFFLINE_NOTICE_GATHER_MS = 100;
const SERVER_TIMINGS = { ...TIMINGS, offlineNoticeGatherMs: OFFLINE_NOTICE_GATHER_MS };
export type Timings = { -readonly [K in keyof typeof TIMINGS]: number } & { offlineNoticeGatherMs?: number };

export class ConfigError extends Error {}

/** Reads and validates configuration; a bad variable is named in the thrown message. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map(({ path: [variable, ...rest], message }) =>
      `  ${String(variable)}: ${rest.length ? `entry ${rest.map((part) => (typeof part === 'number' ? part + 1 : String(part))).join('.')}: ` : ''}${message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return configFromEnv(result.data);
}

export function configFromEnv(env: Env): Config {
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    databasePath: env.DATABASE_PATH,
    databaseUrl: env.DATABASE_URL ?? null,
    databaseSchema: env.DATABASE_SCHEMA ?? null,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    migrateOnStart: env.MIGRATE_ON_START,
    databaseConnectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_S * 1000,
    allowedOrigins: env.ALLOWED_ORIGINS,
    cookieSecure: env.COOKIE_SECURE,
    sessionTtlMs: env.SESSION_TTL_DAYS * 24 * 60 * 60 * 1000,
    logLevel: env.LOG_LEVEL,
    serviceToken: env.SERVICE_TOKEN ?? null,
    seedDemo: env.SEED_DEMO ?? env.NODE_ENV === 'development',
    redisUrl: env.REDIS_URL ?? null,
    redisPrefix: env.REDIS_PREFIX,
    redisConnectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_S * 1000,
    presenceHoldMs: env.PRESENCE_HOLD_S * 1000,
    trustProxy: env.TRUST_PROXY,
    timings: { ...SERVER_TIMINGS },
    connectionLimits: { ...DEFAULT_CONNECTION_LIMITS },
  };
}

/** Defaults for embedding and tests, with overrides. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return { ...configFromEnv(envSchema.parse({})), ...overrides };
}
