/**
 * A lean WebSocket adapter for tRPC routers: the wire protocol of `@trpc/server/adapters/ws`
 * (what `wsLink` speaks), with a cheaper path for what a realtime server does most, pushing
 * subscription data, and per-socket bounds on what a client may cost.
 *
 * Why not `applyWSSHandler`: profiled under fan-out (BENCHMARKS.md), its per-event path (an
 * object spread per response, `Unpromise.race` per iteration, the generic encoder) and one
 * `writev` per frame took more CPU than everything else the server does. Procedures,
 * middlewares, context and errors are tRPC's own (its middleware rules, called without its option
 * copies in ws/invoke.ts; `getErrorShape`), so any router works and `createCaller` sees the same
 * procedures. Where the answers differ from
 * `applyWSSHandler`'s is listed in `ws/differences.ts` and checked by tests/ws-differential.test.ts.
 *
 * The parts, in the order a frame meets them (all in ./ws/):
 * - inbound.ts: a frame → the request budget → requests (or PING, or the connectionParams frame)
 * - requests.ts: one request → its procedure (invoke.ts) → an answer, or an open subscription
 * - subscription.ts: `ActiveSubscription`, one open stream: its abort signal, push or pull delivery
 * - responder.ts: results and errors → answer text (frames.ts: JSON cache for shared values, frame bytes)
 * - writer.ts: `SocketWriter`, one per socket: corking, and the bound on bytes owed to the client
 * - raw-socket.ts: the one place that touches `ws`'s private socket; keepalive.ts: one sweep for all
 *
 * Protocol: a text frame holds one request or an array of requests
 * (`{id, method: 'query' | 'mutation' | 'subscription' | 'subscription.stop', params: {path, input, lastEventId}}`);
 * answers are `{id, result: {type: 'data' | 'started' | 'stopped', data?, id?}}` or
 * `{id, error}`; `PING`/`PONG` text frames in both directions; `{id: null, method: 'reconnect'}`
 * asks clients to reconnect. With `?connectionParams=1` the first frame is
 * `{method: 'connectionParams', data}`.
 */
import type { IncomingMessage } from 'node:http';
import type { AnyTRPCRouter, inferRouterContext } from '@trpc/server';
import type { WebSocket, WebSocketServer } from 'ws';
import { WS_CLOSE } from './ws/close-codes.js';
import { Connection, type RequestLimits } from './ws/connection.js';
import { RECONNECT_TEXT } from './ws/frames.js';
import { handleFrame, type InboundContext } from './ws/inbound.js';
import { startKeepAlive } from './ws/keepalive.js';
import { Responder, UNKNOWN_CALL, type EphemeralTest, type WsErrorInfo } from './ws/responder.js';
import { SocketWriter, type OutputLimits } from './ws/writer.js';

export { encodeJson, textFrame } from './ws/frames.js';
export { WS_CLOSE } from './ws/close-codes.js';
export type { WsErrorInfo, EphemeralTest, RequestLimits, OutputLimits };

/** Defaults of the per-socket bounds (README, per-connection limits). */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = { perSecond: 500, burst: 1_000, maxPerFrame: 100, maxInFlight: 4, maxWaiting: 256 };
export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxBufferedBytes: 8 * 1024 * 1024, shedEphemeralAboveBytes: 2 * 1024 * 1024 };

export type WsAdapterOptions<TRouter extends AnyTRPCRouter> = {
  wss: WebSocketServer;
  router: TRouter;
  /** Once per connection. Throwing answers every request of the socket with the error, then closes it. */
  createContext: (opts: {
    req: IncomingMessage;
    ws: WebSocket;
    connectionParams: Record<string, string> | null;
  }) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;
  onError?: (info: WsErrorInfo<inferRouterContext<TRouter>>) => void;
  /** Server PINGs after `pingMs` of silence and terminates the socket if nothing comes back within `pongWaitMs`. */
  keepAlive?: { pingMs: number; pongWaitMs: number };
  /** Open subscriptions per socket; one more is refused with TOO_MANY_REQUESTS. */
  maxSubscriptions?: number;
  /** What one socket may ask (`DEFAULT_REQUEST_LIMITS`); a socket over its rate is closed with `WS_CLOSE.tooManyRequests`. */
  requestLimits?: Partial<RequestLimits>;
  /** What one socket may owe (`DEFAULT_OUTPUT_LIMITS`; shedding starts at a quarter of the maximum unless given). */
  outputLimits?: Partial<OutputLimits>;
  /** Subscription values that may be dropped for a client that is behind (typing, presence). */
  isEphemeral?: EphemeralTest;
  /** A socket was closed by a limit (logging). */
  onLimit?: (event: { limit: 'requests' | 'output'; ws: WebSocket; bufferedBytes?: number }) => void;
};

export function applyLeanWSHandler<TRouter extends AnyTRPCRouter>(opts: WsAdapterOptions<TRouter>) {
  type TContext = inferRouterContext<TRouter>;
  const { wss, router } = opts;
  const config = router._def._config;
  const limits: RequestLimits = { ...DEFAULT_REQUEST_LIMITS, ...opts.requestLimits };
  const maxBufferedBytes = opts.outputLimits?.maxBufferedBytes ?? DEFAULT_OUTPUT_LIMITS.maxBufferedBytes;
  const output: OutputLimits = { maxBufferedBytes, shedEphemeralAboveBytes: opts.outputLimits?.shedEphemeralAboveBytes ?? maxBufferedBytes / 4 };
  const responder = new Responder<TContext>(config, opts.onError, opts.isEphemeral);
  const connections = new Set<Connection<TContext>>();

  const core: InboundContext<TContext> = {
    router,
    transformer: config.transformer,
    maxSubscriptions: opts.maxSubscriptions ?? Number.POSITIVE_INFINITY,
    limits,
    createContext,
    onFlood(connection) {
      if (connection.isClosed || !connection.writer.open) return;
      opts.onLimit?.({ limit: 'requests', ws: connection.writer.ws });
      connection.writer.ws.close(WS_CLOSE.tooManyRequests, 'too many requests');
      // Nothing more of this socket runs, though its close handshake may take a while.
      connection.teardown();
    },
  };

  async function createContext(connection: Connection<TContext>, req: IncomingMessage, connectionParams: () => Record<string, string> | null) {
    try {
      connection.ctx = await opts.createContext({ req, ws: connection.writer.ws, connectionParams: connectionParams() });
      return true;
    } catch (cause) {
      connection.contextError = cause;
      responder.error(connection.writer, undefined, null, undefined, cause, UNKNOWN_CALL);
      setImmediate(() => connection.writer.ws.close());
      return false;
    }
  }

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const writer = new SocketWriter(ws, output, (bufferedBytes) => {
      opts.onLimit?.({ limit: 'output', ws, bufferedBytes });
      connection.teardown(); // its answers could not be sent: stop working for it now
    });
    const connection: Connection<TContext> = new Connection<TContext>(writer, responder, limits);
    connections.add(connection);
    const wantsParams = new URL(req.url ?? '/', 'http://localhost').searchParams.get('connectionParams') === '1';
    if (!wantsParams) connection.ready = createContext(connection, req, () => null);
    // `req` is only needed until the context exists: the closure below drops it after that.
    let upgradeRequest: IncomingMessage | null = wantsParams ? req : null;
    ws.on('message', (raw, isBinary) => {
      handleFrame(core, connection, upgradeRequest, raw, isBinary);
      if (connection.ready) upgradeRequest = null;
    });
    ws.on('error', (cause) => responder.socketError(connection.ctx, cause));
    ws.once('close', () => {
      connections.delete(connection);
      connection.teardown();
    });
  });

  const stopKeepAlive = opts.keepAlive ? startKeepAlive(connections as Set<Connection<unknown>>, opts.keepAlive) : null;

  return {
    broadcastReconnectNotification() {
      for (const connection of connections) connection.writer.write(RECONNECT_TEXT);
    },
    subscriptionPaths: () => [...connections].flatMap((connection) => [...connection.subscriptions.values()].map((subscription) => (subscription as unknown as { call: { path: string } }).call.path)), // metrics (hardening)
    /** Open connections (diagnostics). */
    get connectionCount() {
      return connections.size;
    },
    stop() {
      stopKeepAlive?.();
    },
  };
}
