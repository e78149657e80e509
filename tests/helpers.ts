import { createMemoryBus } from '../src/server/bus/memory.js';
import type { EventBus } from '../src/server/bus/types.js';
import { systemClock, type Clock, type TimerHandle } from '../src/server/clock.js';
import { defaultConfig, type Config } from '../src/server/config.js';
import { createContextInner, type AppDeps, type Identity } from '../src/server/context.js';
import { openOrm } from '../src/server/db/orm.js';
import { createLogger } from '../src/server/logger.js';
import { createMetrics } from '../src/server/metrics.js';
import { createCaller } from '../src/server/routers/index.js';
import { createServices, type ServiceOptions } from '../src/server/services/index.js';
import { freshStoreConfig, type TestStore } from './store.js';
import type { RateLimitConfig } from '../src/server/services/rate-limits.js';

export const SERVICE_TOKEN = 'test-service-token-0123456789abcdef0123456789';

/** Generous limits so tests exercise behaviour, not throttling (rate-limit tests pass their own). */
export const RELAXED_LIMITS: RateLimitConfig = {
  signIn: { points: 10_000, duration: 60 },
  send: { points: 100_000, duration: 1 },
  signal: { points: 100_000, duration: 1 },
  signInFailures: { points: 10_000, duration: 60 },
  groupCreate: { points: 10_000, duration: 1 },
  invite: { points: 10_000, duration: 1 },
  invited: { points: 10_000, duration: 1 },
};

/** A clock whose time moves only when a test says so; timers fire in due order. */
export class FakeClock implements Clock {
  private current = Date.parse('2026-01-01T00:00:00Z');
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;

  now() {
    return this.current;
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + ms, callback });
    return id as unknown as TimerHandle;
  }
  clearTimeout(handle: TimerHandle) {
    this.timers.delete(handle as unknown as number);
  }
  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number) {
    const target = this.current + ms;
    while (true) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.current = due[1].at;
      due[1].callback();
    }
    this.current = target;
  }
  pendingTimers() {
    return this.timers.size;
  }
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** A fresh database (in-memory SQLite, or a new PostgreSQL schema: tests/store.ts), bus and services, and callers for any identity. */
export async function createTestApp(
  options: { clock?: Clock; bus?: EventBus; config?: Partial<Config>; rateLimits?: RateLimitConfig; store?: TestStore } & Pick<ServiceOptions, 'typingStore' | 'presenceStore'> = {},
) {
  // A shared `store` (PostgreSQL) makes two apps two writers on one database, as two processes.
  const store = options.store ?? freshStoreConfig();
  const orm = await openOrm({ dbPath: store.databasePath, url: store.databaseUrl, schema: store.databaseSchema });
  const bus = options.bus ?? createMemoryBus();
  const config = defaultConfig({ env: 'test', serviceToken: SERVICE_TOKEN, ...store, ...options.config });
  const base = { orm, bus, clock: options.clock ?? systemClock, config, logger: createLogger('silent'), metrics: createMetrics() };
  const services = createServices(base, { rateLimits: options.rateLimits ?? RELAXED_LIMITS, typingStore: options.typingStore, presenceStore: options.presenceStore });
  const deps: AppDeps = { ...base, services };

  /** A caller with the given identity; Set-Cookie headers land in `cookies`. */
  function caller(identity: Partial<Identity> = {}, cookies: string[] = [], signal?: AbortSignal) {
    return createCaller(
      createContextInner(deps, identity, { kind: 'caller', ip: '127.0.0.1', cookies: { append: (h) => cookies.push(h) } }),
      { signal },
    );
  }

  let counter = 0;
  /** Registers a user and returns a caller signed in as them. */
  async function user(name = `user${++counter}`) {
    const session = await services.auth.register({ username: name, password: 'correct horse battery' });
    const resolved = (await services.auth.resolve(session.token))!;
    const identity = { user: resolved.user, sessionId: resolved.sessionId };
    return {
      ...session.user,
      token: session.token,
      caller: caller(identity),
      /** A caller whose subscriptions end when `signal` aborts. */
      withSignal: (signal: AbortSignal) => caller(identity, [], signal),
    };
  }

  /**
   * A direct conversation in which both users wrote: what makes each other's presence visible
   * (a conversation merely opened shows nothing).
   */
  async function converse(a: { id: number }, b: { id: number }) {
    const conversation = await services.conversations.openDirect(a.id, b.id);
    for (const sender of [a, b]) await services.messages.send(sender.id, { conversationId: conversation.id, content: 'hi', clientMessageId: uid('hi') });
    return conversation;
  }

  return {
    deps,
    services,
    converse,
    orm,
    bus,
    caller,
    user,
    /** Rows in a table: proves a refused call stored nothing. */
    async count(table: string) {
      return Number((await orm.em.fork().execute<Array<{ n: number }>>(`select count(*) as n from ${table}`))[0]!.n);
    },
    anonymous: caller(),
    service: caller({ service: true }),
    async close() {
      await services.messages.writer.idle();
      await services.dispose();
      await orm.close();
    },
  };
}

/** Pulls the next value of a subscription iterator, failing instead of hanging forever. */
export async function nextValue<T>(iterator: AsyncIterator<T>, ms = 2000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    iterator.next(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  if (result.done) throw new Error('subscription ended');
  return result.value;
}

/** A caller subscription yields raw tracked tuples: [id, data, symbol]. */
export function trackedData<T>(value: unknown): { id: string; data: T } {
  const [id, data] = value as [string, T];
  return { id, data };
}

export const uid = (() => {
  let n = 0;
  return (prefix = 'm') => `${prefix}-${Date.now().toString(36)}-${++n}`;
})();
