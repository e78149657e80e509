import type { RequestId } from './frames.js';
import type { Responder } from './responder.js';
import type { SocketWriter } from './writer.js';

/** What the connection needs of a subscription; the implementation is `ActiveSubscription`. */
export interface Stoppable {
  stop(): void;
}

/** What one socket may ask of the server (README, per-connection limits). */
export type RequestLimits = {
  /** Requests (not frames: a frame may hold an array of them) per second on average, and in a burst. */
  perSecond: number;
  burst: number;
  /** Requests in one frame; a frame with more is refused whole. */
  maxPerFrame: number;
  /** Queries, mutations and subscription procedures running at once; more wait in line. */
  maxInFlight: number;
  /** Requests waiting in line; beyond, TOO_MANY_REQUESTS on the request's own id. */
  maxWaiting: number;
};

/**
 * Token bucket over requests: a few arithmetic operations per frame and no allocation (a limiter
 * library's async consume per frame would cost more than the frame).
 */
export class RequestBudget {
  private tokens: number;
  private refilledAt = Date.now();

  constructor(private readonly limits: Pick<RequestLimits, 'perSecond' | 'burst'>) {
    this.tokens = limits.burst;
  }

  /** Spends `count` tokens; false once the socket asked for more than its rate allows. */
  spend(count: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.perSecond);
    this.refilledAt = now;
    this.tokens -= count;
    return this.tokens >= 0;
  }
}

/**
 * At most `maxInFlight` requests of one socket run at once; the next ones wait in line (up to
 * `maxWaiting`). This is what bounds the memory a socket's requests hold at any time: the answer
 * of a request exists only while it runs and is then owed to the socket (bounded by the writer).
 */
export class RequestSlots {
  private running = 0;
  /** Made on first use: most sockets never have a request waiting. */
  private waiting: Array<(admitted: boolean) => void> | null = null;

  constructor(private readonly limits: Pick<RequestLimits, 'maxInFlight' | 'maxWaiting'>) {}

  /** True (or a promise of it) when the request may run, then call `release()`; false if the line is full or the socket closed. */
  acquire(): Promise<boolean> | boolean {
    if (this.running < this.limits.maxInFlight) {
      this.running++;
      return true;
    }
    const waiting = (this.waiting ??= []);
    if (waiting.length >= this.limits.maxWaiting) return false;
    return new Promise((resolve) => waiting.push(resolve));
  }

  release() {
    const next = this.waiting?.shift();
    // Handed over in a later turn of the event loop: resolved here, a socket's whole line would run
    // as one chain of promise jobs (SQLite answers synchronously), holding timers, other sockets and
    // HTTP for as long as the line takes. Three sockets of the heaviest legal frames held it for
    // seconds, long enough for HTTP keep-alive sockets to time out under their clients' requests
    // (tests/ws-memory.test.ts failed one run in four with ECONNRESET).
    // A socket that closed meanwhile (`clear()`) runs nothing more.
    if (next) setImmediate(() => next(this.waiting !== null));
    else this.running--;
  }

  /** The socket closed: nothing waiting will run. */
  clear() {
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const resolve of waiting) resolve(false);
  }
}

/** The abort reason of the requests of a closed socket, made once (see subscription.ts). */
const SOCKET_CLOSED = new DOMException('The connection closed', 'AbortError');

/** The state of one socket. */
export class Connection<TContext> {
  ctx: TContext | undefined = undefined;
  /** Resolves when the context is ready (false: it failed); null while waiting for the connectionParams frame. */
  ready: Promise<boolean> | null = null;
  /** Why the context could not be made: every request of the socket is answered with it. */
  contextError: unknown = undefined;
  /** Every subscription of the socket, by request id; stopped when the socket closes. */
  readonly subscriptions = new Map<RequestId, Stoppable>();
  /** The signal of queries and mutations, aborted when the socket closes; made on first use (its cost: BENCHMARKS.md, "Figures quoted in the code"). */
  private requestsAbort: AbortController | null = null;
  isClosed = false;
  lastSeen = Date.now();
  pingSentAt = 0;
  readonly budget: RequestBudget;
  readonly slots: RequestSlots;

  constructor(
    readonly writer: SocketWriter,
    readonly responder: Responder<TContext>,
    limits: RequestLimits,
  ) {
    this.budget = new RequestBudget(limits);
    this.slots = new RequestSlots(limits);
  }

  requestSignal(): AbortSignal {
    if (!this.requestsAbort) {
      this.requestsAbort = new AbortController();
      if (this.isClosed) this.requestsAbort.abort(SOCKET_CLOSED); // asked for after the socket closed
    }
    return this.requestsAbort.signal;
  }

  /** The socket closed (or is closing on a limit): ends its subscriptions, aborts its requests, drops those waiting. */
  teardown() {
    if (this.isClosed) return;
    this.isClosed = true;
    this.slots.clear();
    for (const subscription of [...this.subscriptions.values()]) subscription.stop();
    this.subscriptions.clear();
    this.requestsAbort?.abort(SOCKET_CLOSED);
  }
}
