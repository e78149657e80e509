/**
 * A lean WebSocket adapter for tRPC routers: the wire protocol of `@trpc/server/adapters/ws`
 * (what `wsLink` speaks), with a cheaper path for what a realtime server does most, pushing
 * subscription data.
 *
 * Why not `applyWSSHandler`: profiled under fan-out (BENCHMARKS.md), its per-event path (an
 * object spread per response in `transformTRPCResponse`, `Unpromise.race` per iteration, the
 * generic encoder) and one `writev` per frame took more CPU than everything else the server does.
 * Here a data frame is built as a string around the payload's JSON, a frozen object is serialized
 * once however many subscribers receive it (freezing is a promise that nothing below it changes
 * either: `Object.freeze` is shallow, the cache trusts the whole object), the bytes of one event's
 * frame are built once and written to every subscriber's socket, the frames written to one socket
 * by one callback and the promises it sets off leave in one system call, streams that can push
 * (push.ts) need no promise per value, and keepalive is one sweep for all
 * sockets instead of two timers per socket reset on every frame. Procedures, middlewares, context and errors are tRPC's
 * own (`callTRPCProcedure`, `getErrorShape`), so any router works and `createCaller` sees the
 * same procedures.
 *
 * Protocol: a text frame holds one request or an array of requests
 * (`{id, method: 'query' | 'mutation' | 'subscription' | 'subscription.stop', params: {path, input, lastEventId}}`);
 * answers are `{id, result: {type: 'data' | 'started' | 'stopped', data?, id?}}` or
 * `{id, error}`; `PING`/`PONG` text frames in both directions; `{id: null, method: 'reconnect'}`
 * asks clients to reconnect. With `?connectionParams=1` the first frame is
 * `{method: 'connectionParams', data}`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  callTRPCProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  isTrackedEnvelope,
  TRPCError,
  transformTRPCResponse,
  type AnyTRPCRouter,
  type inferRouterContext,
} from '@trpc/server';
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable';
import { parseTRPCMessage } from '@trpc/server/rpc';
import type { WebSocket, WebSocketServer } from 'ws';
import { isPushSource, pushToSink, type PushSink } from './push.js';

const OPEN = 1;

type RequestId = string | number;
type ProcedureType = 'query' | 'mutation' | 'subscription';

export type WsErrorInfo<TContext> = {
  error: TRPCError;
  path: string | undefined;
  type: ProcedureType | 'unknown';
  ctx: TContext | undefined;
  input: unknown;
};

export type WsAdapterOptions<TRouter extends AnyTRPCRouter> = {
  wss: WebSocketServer;
  router: TRouter;
  /** Once per connection. Throwing closes the socket after answering with the error. */
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
};

/** What `stop()` needs of a subscription; the implementation is `ActiveSubscription` below. */
type Subscription = { stop(): void };

type Connection<TContext> = {
  ws: WebSocket;
  socket: Duplex | null;
  ctx: TContext | undefined;
  /** Resolves when the context is ready; null while waiting for the connectionParams frame. */
  ready: Promise<boolean> | null;
  /** Every subscription of the socket, by request id; aborted when the socket closes. */
  subscriptions: Map<RequestId, Subscription>;
  /** The signal of queries and mutations, aborted when the socket closes; made on first use (an AbortController costs ~0.7 KB). */
  closed: AbortController | null;
  lastSeen: number;
  pingSentAt: number;
  corked: boolean;
  /** No WebSocket extension negotiated: frames can be written to the socket as bytes. */
  rawFrames: boolean;
};

/** JSON of frozen objects, computed once: a published event reaches every subscriber as the same object. */
const frozenJson = new WeakMap<object, string>();

function encodeValue(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && Object.isFrozen(value)) {
    let json = frozenJson.get(value);
    if (json === undefined) {
      json = JSON.stringify(value);
      frozenJson.set(value, json);
    }
    return json;
  }
  return JSON.stringify(value);
}

/** JSON of a one-element batch, by its (frozen) element: the usual shape of a live event's batch. */
const singletonJson = new WeakMap<object, string>();

/**
 * JSON.stringify, reusing the cached JSON of frozen objects, also as array elements (a batch of
 * events). A one-element array of a frozen object gets the same string object every time, which
 * lets the frame built around it be reused too (see `frameFor`).
 */
export function encodeJson(value: unknown): string | undefined {
  if (!Array.isArray(value) || Object.isFrozen(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return encodeValue(value);
  }
  if (value.length === 1) {
    const only: unknown = value[0];
    if (only !== null && typeof only === 'object' && Object.isFrozen(only) && typeof (only as { toJSON?: unknown }).toJSON !== 'function') {
      let json = singletonJson.get(only);
      if (json === undefined) {
        json = `[${encodeValue(only)}]`;
        singletonJson.set(only, json);
      }
      return json;
    }
  }
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ',';
    out += encodeValue(value[i]) ?? 'null';
  }
  return `${out}]`;
}

/**
 * One complete, unmasked WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, payload length in
 * 7, 16 or 64 bits) holding `text`, as `ws` would frame it without compression.
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, headerLength, 'utf8');
  return frame;
}

export function applyLeanWSHandler<TRouter extends AnyTRPCRouter>(opts: WsAdapterOptions<TRouter>) {
  type TContext = inferRouterContext<TRouter>;
  const { wss, router } = opts;
  const maxSubscriptions = opts.maxSubscriptions ?? Number.POSITIVE_INFINITY;
  const config = router._def._config;
  const transformer = config.transformer;
  const connections = new Set<Connection<TContext>>();

  // --- Output: every frame goes through `send`, which corks the socket until the current callback
  // and every promise it set off have run (a process.nextTick queued from a promise job runs once
  // the microtask queue is empty). The frames a committed batch sends to one socket leave in one
  // write. Not setImmediate: from inside an immediate (the message writer commits in one) that
  // waits for the next turn of the event loop, a whole poll phase of reads later.
  let toUncork: Array<Connection<TContext>> = [];
  const uncorkAll = () => {
    const list = toUncork;
    toUncork = [];
    for (const connection of list) {
      connection.corked = false;
      if (connection.socket && !connection.socket.destroyed) connection.socket.uncork();
    }
  };
  function cork(connection: Connection<TContext>, socket: Duplex) {
    if (connection.corked) return;
    connection.corked = true;
    socket.cork();
    if (toUncork.push(connection) === 1) process.nextTick(uncorkAll);
  }

  function send(connection: Connection<TContext>, text: string, frame?: Buffer) {
    if (connection.ws.readyState !== OPEN) return;
    const { socket } = connection;
    if (!socket) return connection.ws.send(text);
    cork(connection, socket);
    // Without extensions (no permessage-deflate) a data frame is the bytes of `textFrame`: write
    // them straight to the socket, the same Buffer for every subscriber of an event, instead of
    // framing the string again per socket. Anything else goes through ws's sender.
    if (connection.rawFrames) socket.write(frame ?? textFrame(text));
    else connection.ws.send(text);
  }

  // The last data frame built: the subscribers of one event are served one after the other, and
  // their frames differ only if their subscription ids do (wsLink numbers them per client, so
  // usually they do not).
  let last: { json: string | undefined; id: RequestId; jsonrpc: '2.0' | undefined; eventId: unknown; text: string; frame: Buffer | null } | null = null;
  function frameFor(json: string | undefined, id: RequestId, jsonrpc: '2.0' | undefined, eventId: unknown) {
    if (last && last.json === json && last.id === id && last.jsonrpc === jsonrpc && last.eventId === eventId) return last;
    const eventJson = JSON.stringify(eventId);
    const payload = json === undefined ? `{"id":${eventJson}}` : `{"id":${eventJson},"data":${json}}`;
    const text = `${head(id, jsonrpc)}"result":{"type":"data","id":${eventJson},"data":${payload}}}`;
    last = { json, id, jsonrpc, eventId, text, frame: null };
    return last;
  }

  function sendBuilt(connection: Connection<TContext>, built: { text: string; frame: Buffer | null }) {
    if (connection.rawFrames && connection.ws.readyState === OPEN) built.frame ??= textFrame(built.text);
    send(connection, built.text, built.frame ?? undefined);
  }

  const head = (id: RequestId | null, jsonrpc: '2.0' | undefined) =>
    jsonrpc === undefined ? `{"id":${JSON.stringify(id)},` : `{"id":${JSON.stringify(id)},"jsonrpc":"2.0",`;

  function sendResult(connection: Connection<TContext>, id: RequestId, jsonrpc: '2.0' | undefined, type: 'started' | 'stopped') {
    send(connection, `${head(id, jsonrpc)}"result":{"type":"${type}"}}`);
  }

  // With the default (identity) transformer a data frame is built as a string around the
  // payload's JSON; any other transformer serializes the whole result as tRPC does.
  const probe = {};
  const identityTransformer = transformer.output.serialize(probe) === probe;

  function sendData(connection: Connection<TContext>, id: RequestId, jsonrpc: '2.0' | undefined, value: unknown) {
    const tracked = isTrackedEnvelope(value);
    if (!identityTransformer) {
      const result = tracked ? { type: 'data' as const, id: value[0], data: { id: value[0], data: value[1] } } : { type: 'data' as const, data: value };
      return send(connection, JSON.stringify(transformTRPCResponse(config, { id, jsonrpc, result })));
    }
    if (tracked) {
      const [eventId, data] = value;
      const json = encodeJson(data);
      return sendBuilt(connection, frameFor(json, id, jsonrpc, eventId));
    }
    const json = encodeJson(value);
    send(connection, `${head(id, jsonrpc)}"result":{"type":"data"${json === undefined ? '' : `,"data":${json}`}}}`);
  }

  function sendError(
    connection: Connection<TContext>,
    id: RequestId | null,
    jsonrpc: '2.0' | undefined,
    cause: unknown,
    call: { type: ProcedureType | 'unknown'; path: string | undefined; input: unknown },
  ) {
    const error = getTRPCErrorFromUnknown(cause);
    const { ctx } = connection;
    opts.onError?.({ error, ctx, ...call });
    const shape = getErrorShape({ config, error, ctx, ...call });
    send(connection, JSON.stringify(transformTRPCResponse(config, { id, jsonrpc, error: shape })));
  }

  function createContext(
    connection: Connection<TContext>,
    req: IncomingMessage,
    connectionParams: () => Record<string, string> | null,
  ): Promise<boolean> {
    return (async () => {
      try {
        connection.ctx = await opts.createContext({ req, ws: connection.ws, connectionParams: connectionParams() });
        return true;
      } catch (cause) {
        sendError(connection, null, undefined, cause, { type: 'unknown', path: undefined, input: undefined });
        setImmediate(() => connection.ws.close());
        return false;
      }
    })();
  }

  /**
   * One open subscription. A stream that can push (`PushSource`, see push.ts) is handed the
   * subscription as its sink; any other iterator is pumped with two callbacks made once. Either
   * way no async frame is held per stream while it waits. `stop()` answers `stopped` at once and
   * ends the stream: it aborts the subscription's own signal, if it has one, and calls the
   * iterator's `return()`.
   */
  class ActiveSubscription implements Subscription, PushSink<unknown> {
    iterator: AsyncIterator<unknown> | null = null;
    ended = false;
    private pull: { onNext: (result: IteratorResult<unknown>) => void; onError: (cause: unknown) => void } | null = null;

    constructor(
      readonly connection: Connection<TContext>,
      readonly id: RequestId,
      readonly jsonrpc: '2.0' | undefined,
      readonly call: { type: ProcedureType; path: string; input: unknown },
      /** Null when the procedure's stream ends on `return()` (`meta.endsOnReturn`). */
      readonly controller: AbortController | null,
    ) {}

    start(iterator: AsyncIterator<unknown>) {
      this.iterator = iterator;
      sendResult(this.connection, this.id, this.jsonrpc, 'started');
      if (isPushSource(iterator)) return iterator[pushToSink](this);
      this.pull = {
        onNext: (result) => {
          if (this.ended) return;
          if (result.done) return this.end();
          this.push(result.value);
          if (!this.ended) this.pump();
        },
        onError: (cause) => this.fail(cause),
      };
      this.pump();
    }

    pump() {
      this.iterator!.next().then(this.pull!.onNext, this.pull!.onError);
    }

    push(value: unknown) {
      if (this.ended) return;
      try {
        sendData(this.connection, this.id, this.jsonrpc, value);
      } catch (cause) {
        // A value that cannot be serialized (a BigInt, a cycle) fails its subscription only.
        this.fail(cause);
        void this.iterator?.return?.()?.catch(() => undefined);
      }
    }

    end() {
      if (!this.ended) this.finish('stopped', null);
    }

    fail(cause: unknown) {
      if (!this.ended) this.finish('error', cause);
    }

    /** The client stopped it or the socket closed. */
    stop() {
      if (this.ended) return;
      this.finish('stopped', null);
      void this.iterator?.return?.()?.catch(() => undefined);
    }

    finish(how: 'stopped' | 'error', cause: unknown) {
      this.ended = true;
      const { connection, id } = this;
      if (connection.subscriptions.get(id) === this) connection.subscriptions.delete(id);
      this.controller?.abort();
      if (how === 'stopped') sendResult(connection, id, this.jsonrpc, 'stopped');
      else sendError(connection, id, this.jsonrpc, cause, this.call);
    }
  }

  async function handleRequest(connection: Connection<TContext>, message: ReturnType<typeof parseTRPCMessage>, batchIndex: number) {
    const { id, jsonrpc } = message;
    if (id === null) {
      const error = new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' });
      return sendError(connection, null, jsonrpc, error, { type: 'unknown', path: undefined, input: undefined });
    }
    if (message.method === 'subscription.stop') {
      connection.subscriptions.get(id)?.stop();
      return;
    }
    const type = message.method as ProcedureType;
    const { path, lastEventId } = message.params;
    let { input } = message.params;
    if (lastEventId !== undefined) {
      input = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...input, lastEventId } : (input ?? { lastEventId });
    }
    const call = { type, path, input };

    let subscription: ActiveSubscription | null = null;
    if (type === 'subscription') {
      if (connection.subscriptions.has(id)) {
        return sendError(connection, id, jsonrpc, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }), call);
      }
      if (connection.subscriptions.size >= maxSubscriptions) {
        const error = new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${maxSubscriptions} subscriptions per connection` });
        return sendError(connection, id, jsonrpc, error, call);
      }
      // Registered before the procedure runs, so a stop or the socket closing meanwhile ends it too.
      // A procedure whose stream ends on return() (`meta.endsOnReturn`) is ended that way and gets
      // no signal: an AbortController costs ~0.7 KB in Node 20, and a client holds several streams.
      const meta = (router._def.procedures as Record<string, { _def?: { meta?: unknown } } | undefined>)[path]?._def?.meta;
      const endsOnReturn = (meta as { endsOnReturn?: boolean } | undefined)?.endsOnReturn === true;
      subscription = new ActiveSubscription(connection, id, jsonrpc, call, endsOnReturn ? null : new AbortController());
      connection.subscriptions.set(id, subscription);
    }
    try {
      if (connection.ctx === undefined && !(await connection.ready)) return;
      const signal = subscription ? subscription.controller?.signal : closedSignal(connection);
      const result = await callTRPCProcedure({ router, path, getRawInput: async () => input, ctx: connection.ctx, type, signal, batchIndex });
      const iterable = isObservable(result)
        ? observableToAsyncIterable(result, signal ?? closedSignal(connection))
        : isAsyncIterable(result)
          ? result
          : null;
      if (!subscription) {
        if (iterable) {
          throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `Cannot return an async iterable or observable from a ${type} procedure with WebSockets` });
        }
        return sendData(connection, id, jsonrpc, result);
      }
      if (!iterable) {
        throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Subscription ${path} did not return an observable or an async iterable` });
      }
      const iterator = iterable[Symbol.asyncIterator]();
      if (subscription.ended) {
        // Stopped (or the socket closed) while the procedure ran: `stopped` was answered then.
        void iterator.return?.()?.catch(() => undefined);
        return;
      }
      subscription.start(iterator);
    } catch (cause) {
      if (!subscription) sendError(connection, id, jsonrpc, cause, call);
      else if (!subscription.ended) subscription.finish('error', cause);
    }
  }

  function closedSignal(connection: Connection<TContext>): AbortSignal {
    if (!connection.closed) {
      connection.closed = new AbortController();
      if (!connections.has(connection)) connection.closed.abort(); // asked for after the socket closed
    }
    return connection.closed.signal;
  }

  function onMessage(connection: Connection<TContext>, req: IncomingMessage | null, raw: unknown, isBinary: boolean) {
    connection.lastSeen = Date.now();
    connection.pingSentAt = 0;
    const text = isBinary ? null : Buffer.isBuffer(raw) ? raw.toString('utf8') : null;
    if (text === 'PONG') return;
    if (text === 'PING') return send(connection, 'PONG');
    if (text === null) {
      const error = new TRPCError({ code: 'PARSE_ERROR', message: 'Binary frames are not accepted: send JSON text' });
      return sendError(connection, null, undefined, error, { type: 'unknown', path: undefined, input: undefined });
    }
    if (!connection.ready && req) {
      connection.ready = createContext(connection, req, () => {
        try {
          const message = JSON.parse(text) as { method?: unknown; data?: unknown };
          if (message?.method !== 'connectionParams') throw new Error('expected the connectionParams message first');
          return parseConnectionParams(message.data);
        } catch (cause) {
          throw new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed TRPCConnectionParamsMessage', cause });
        }
      });
      return;
    }
    let messages: Array<ReturnType<typeof parseTRPCMessage>>;
    try {
      const json: unknown = JSON.parse(text);
      messages = (Array.isArray(json) ? json : [json]).map((item) => parseTRPCMessage(item, transformer));
    } catch (cause) {
      return sendError(connection, null, undefined, new TRPCError({ code: 'PARSE_ERROR', cause }), { type: 'unknown', path: undefined, input: undefined });
    }
    for (let i = 0; i < messages.length; i++) void handleRequest(connection, messages[i]!, i);
  }

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    // ws keeps the TCP socket private; corking and raw frames are skipped if a version lacks it.
    const socket = (ws as unknown as { _socket?: Duplex })._socket ?? null;
    const connection: Connection<TContext> = {
      ws,
      socket,
      ctx: undefined,
      ready: null,
      subscriptions: new Map(),
      closed: null,
      lastSeen: Date.now(),
      pingSentAt: 0,
      corked: false,
      rawFrames: ws.extensions === '' && socket !== null,
    };
    connections.add(connection);
    const wantsParams = new URL(req.url ?? '/', 'http://localhost').searchParams.get('connectionParams') === '1';
    if (!wantsParams) connection.ready = createContext(connection, req, () => null);
    // `req` is only needed until the context exists: the closure below drops it after that.
    let upgradeRequest: IncomingMessage | null = wantsParams ? req : null;
    ws.on('message', (raw, isBinary) => {
      onMessage(connection, upgradeRequest, raw, isBinary);
      if (connection.ready) upgradeRequest = null;
    });
    ws.on('error', (cause) => {
      opts.onError?.({ error: getTRPCErrorFromUnknown(cause), ctx: connection.ctx, type: 'unknown', path: undefined, input: undefined });
    });
    ws.once('close', () => {
      connections.delete(connection);
      for (const subscription of [...connection.subscriptions.values()]) subscription.stop();
      connection.subscriptions.clear();
      connection.closed?.abort();
    });
  });

  // Keepalive: one sweep for every socket. Any frame from the client counts as a sign of life.
  let sweep: NodeJS.Timeout | null = null;
  if (opts.keepAlive) {
    const { pingMs, pongWaitMs } = opts.keepAlive;
    sweep = setInterval(
      () => {
        const now = Date.now();
        for (const connection of connections) {
          if (connection.pingSentAt > 0) {
            if (now - connection.pingSentAt >= pongWaitMs) connection.ws.terminate();
          } else if (now - connection.lastSeen >= pingMs) {
            connection.pingSentAt = now;
            send(connection, 'PING');
          }
        }
      },
      Math.max(10, Math.min(pingMs, pongWaitMs) / 4),
    );
    sweep.unref();
  }

  return {
    broadcastReconnectNotification() {
      for (const connection of connections) send(connection, '{"id":null,"method":"reconnect"}');
    },
    subscriptionPaths: () => [...connections].flatMap((connection) => [...connection.subscriptions.values()].map((subscription) => (subscription as ActiveSubscription).call.path)), // metrics (hardening)
    /** Open connections (diagnostics). */
    get connectionCount() {
      return connections.size;
    },
    stop() {
      if (sweep) clearInterval(sweep);
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && Symbol.asyncIterator in value;
}

/** `connectionParams` are a flat record of strings (what wsLink sends), or null. */
function parseConnectionParams(data: unknown): Record<string, string> | null {
  if (data === null || data === undefined) return null;
  if (typeof data !== 'object' || Array.isArray(data)) throw new Error('connectionParams must be an object');
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') throw new Error(`connectionParams.${key} must be a string`);
    params[key] = value;
  }
  return params;
}
