/**
 * The lean WebSocket adapter (src/server/http/ws-adapter.ts) on a small dedicated router, over a
 * real HTTP server + WebSocketServer: wire compatibility with @trpc/client's wsLink, the raw
 * protocol frame by frame, abort/cleanup, batching of frames, connectionParams, keepalive, the
 * reconnect notification, and `encodeJson`.
 */
import { on, EventEmitter, getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client';
import { initTRPC, tracked, TRPCError, type AnyTRPCRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createMemoryBus } from '../src/server/bus/memory.js';
import { isShared, share } from '../src/server/bus/shared.js';
import { LiveStream } from '../src/server/streams/live-stream.js';
import { applyLeanWSHandler, encodeJson, textFrame, type WsAdapterOptions, type WsErrorInfo } from '../src/server/http/ws-adapter.js';

// ---------------------------------------------------------------------------------------------
// Fixture: a router with one procedure per behaviour under test, and the state tests observe.

type Ctx = { userId: string | null };

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** An in-test event source with history, so a resumed subscription can replay what it missed. */
class Feed {
  readonly history: Array<{ id: string; data: { text: string } }> = [];
  private readonly listeners = new Set<(event: { id: string; data: { text: string } }) => void>();
  emit(id: string, text: string) {
    this.publish({ id, data: { text } });
  }
  /** Every listener receives this very object. */
  publish(event: { id: string; data: { text: string } }) {
    this.history.push(event);
    for (const listener of this.listeners) listener(event);
  }
  listen(listener: (event: { id: string; data: { text: string } }) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  get listenerCount() {
    return this.listeners.size;
  }
}

function createFixture() {
  const t = initTRPC.context<Ctx>().create();
  const state = {
    feed: new Feed(),
    /** Node EventEmitter for the `events.on(…, { signal })` style subscription. */
    emitter: new EventEmitter(),
    /** Input and signal of every `events` subscription call, in call order. */
    eventsCalls: [] as Array<{ input: unknown; signal: AbortSignal | undefined }>,
    eventsFinished: 0,
    nodeOnCalls: [] as Array<{ signal: AbortSignal | undefined }>,
    slowCalls: [] as Array<{ signal: AbortSignal | undefined }>,
    slowGate: deferred(),
    slowBodyRan: 0,
    plainFinished: 0,
    observableTeardowns: 0,
    /** Signals of `hang` queries, which only end when their signal aborts. */
    hangSignals: [] as Array<AbortSignal | undefined>,
    unserializableReturned: null as boolean | null,
  };

  const router = t.router({
    echo: t.procedure.input(z.unknown()).query(({ input }) => input),
    whoami: t.procedure.query(({ ctx }) => ctx.userId),
    nothing: t.procedure.input(z.object({ n: z.number() })).mutation(() => undefined),
    hang: t.procedure.query(async ({ signal }) => {
      state.hangSignals.push(signal);
      await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
      return 'aborted';
    }),
    fail: t.procedure.query(() => {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'not for you' });
    }),
    iterableQuery: t.procedure.query(async function* () {
      yield 1;
    }),
    notIterable: t.procedure.subscription((() => 42) as unknown as () => AsyncGenerator<number>),
    /** Tracked events from `state.feed`; replays history after `lastEventId`; ends when its signal aborts. */
    events: t.procedure.input(z.object({ lastEventId: z.string().nullish() }).optional()).subscription(async function* (opts) {
      const { signal } = opts;
      state.eventsCalls.push({ input: opts.input, signal });
      const queue: Array<{ id: string; data: { text: string } }> = [];
      let wake: (() => void) | null = null;
      const off = state.feed.listen((event) => {
        queue.push(event);
        wake?.();
      });
      const lastEventId = opts.input?.lastEventId;
      if (lastEventId) {
        const index = state.feed.history.findIndex((event) => event.id === lastEventId);
        queue.push(...state.feed.history.slice(index + 1));
      }
      const onAbort = () => wake?.();
      signal?.addEventListener('abort', onAbort);
      try {
        while (!signal?.aborted) {
          const event = queue.shift();
          if (event) {
            yield tracked(event.id, event.data);
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      } finally {
        off();
        signal?.removeEventListener('abort', onAbort);
        state.eventsFinished++;
      }
    }),
    /** The pattern of tRPC's docs: `for await (… of on(ee, name, { signal }))`. */
    nodeOn: t.procedure.subscription(async function* (opts) {
      state.nodeOnCalls.push({ signal: opts.signal });
      for await (const [text] of on(state.emitter, 'event', { signal: opts.signal })) {
        yield text as string;
      }
    }),
    /** Plain values, then returns. */
    plain: t.procedure.input(z.object({ count: z.number() })).subscription(async function* ({ input }) {
      try {
        for (let i = 1; i <= input.count; i++) yield `value ${i}`;
      } finally {
        state.plainFinished++;
      }
    }),
    /** `count` tracked events, as fast as the loop goes. */
    burst: t.procedure.input(z.object({ count: z.number() })).subscription(async function* ({ input }) {
      for (let i = 0; i < input.count; i++) yield tracked(String(i), { i });
    }),
    /** The procedure itself takes its time (awaits `state.slowGate`) before returning its iterator. */
    slow: t.procedure.subscription(async (opts) => {
      state.slowCalls.push({ signal: opts.signal });
      await state.slowGate.promise;
      return (async function* () {
        state.slowBodyRan++;
        yield 'late';
      })();
    }),
    /** Legacy observable subscriptions: `count` values then complete, or (count null) open until stopped. */
    legacy: t.procedure.input(z.object({ count: z.number().nullable() })).subscription(({ input }) =>
      observable<number>((emit) => {
        if (input.count !== null) {
          for (let i = 1; i <= input.count; i++) emit.next(i);
          emit.complete();
        }
        return () => void state.observableTeardowns++;
      }),
    ),
    /** One value, then an error. */
    explode: t.procedure.subscription(async function* () {
      yield 'first';
      throw new TRPCError({ code: 'CONFLICT', message: 'mid-stream failure' });
    }),
    unserializable: t.procedure.subscription(async function* () {
      state.unserializableReturned = false;
      try {
        yield 'first';
        yield { big: 1n };
        yield 'never sent';
      } finally {
        state.unserializableReturned = true;
      }
    }),
  });
  return { router, state };
}

type TestRouter = ReturnType<typeof createFixture>['router'];

// ---------------------------------------------------------------------------------------------
// Servers and clients, all closed in afterEach.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type ServerOptions = Partial<Pick<WsAdapterOptions<TestRouter>, 'createContext' | 'keepAlive'>>;

/** An HTTP server on an ephemeral port with a WebSocketServer and the adapter on it. */
async function serve<TRouter extends AnyTRPCRouter>(options: Omit<WsAdapterOptions<TRouter>, 'wss'>) {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server });
  const handler = applyLeanWSHandler({ ...options, wss });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    handler.stop();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `ws://127.0.0.1:${port}`, wss, handler };
}

async function startServer(options: ServerOptions = {}) {
  const { router, state } = createFixture();
  const errors: Array<WsErrorInfo<Ctx>> = [];
  const contexts: Array<{ connectionParams: Record<string, string> | null; url: string | undefined }> = [];
  const served = await serve({
    router,
    onError: (info) => errors.push(info),
    keepAlive: options.keepAlive,
    createContext:
      options.createContext ??
      ((opts) => {
        contexts.push({ connectionParams: opts.connectionParams, url: opts.req.url });
        return { userId: opts.connectionParams?.token ?? null };
      }),
  });
  return { ...served, router, state, errors, contexts };
}

type Server = Awaited<ReturnType<typeof startServer>>;

type Frame = {
  raw: string;
  binary: boolean;
  json:
    | {
        id?: string | number | null;
        jsonrpc?: string;
        method?: string;
        result?: { type: 'data' | 'started' | 'stopped'; id?: string; data?: unknown };
        error?: { code: number; message: string; data: { code: string; httpStatus: number; path?: string } };
      }
    | undefined;
};

/** A plain `ws` client that records every frame; `next` takes the first unconsumed frame matching. */
function rawClient(url: string) {
  const ws = new WebSocket(url);
  const frames: Frame[] = [];
  const consumed = new Set<Frame>();
  const waiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    const raw = data.toString();
    let json: Frame['json'];
    try {
      json = JSON.parse(raw) as Frame['json'];
    } catch {
      json = undefined;
    }
    frames.push({ raw, binary: isBinary, json });
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<{ code: number }>((resolve) => ws.on('close', (code) => resolve({ code })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanups.push(() => ws.terminate());

  function take(predicate: (frame: Frame) => boolean) {
    const frame = frames.find((f) => !consumed.has(f) && predicate(f));
    if (frame) consumed.add(frame);
    return frame;
  }
  return {
    ws,
    frames,
    closed,
    opened,
    send: (value: unknown) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    next(predicate: (frame: Frame) => boolean, timeoutMs = 2_000, what = 'frame'): Promise<Frame> {
      const found = take(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = () => {
          const frame = take(predicate);
          if (!frame) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(frame);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(frames.map((f) => f.raw))}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    /** Resolves if no matching frame arrives within `ms`, rejects otherwise. */
    async none(predicate: (frame: Frame) => boolean, ms: number, what = 'frame') {
      await sleep(ms);
      const frame = frames.find((f) => !consumed.has(f) && predicate(f));
      if (frame) throw new Error(`unexpected ${what}: ${frame.raw}`);
    },
  };
}

async function openRaw(server: Server, path = '/') {
  const client = rawClient(`${server.url}${path}`);
  await client.opened;
  return client;
}

const byId = (id: string | number | null) => (frame: Frame) => frame.json !== undefined && frame.json.id === id;
const isResult = (id: string | number, type: 'data' | 'started' | 'stopped') => (frame: Frame) =>
  frame.json?.id === id && frame.json.result?.type === type;
const isError = (id: string | number | null) => (frame: Frame) => frame.json !== undefined && frame.json.id === id && frame.json.error !== undefined;
const errorCode = (frame: Frame) => frame.json?.error?.data.code;

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(check: () => boolean, ms = 2_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The real client stack an app uses: createWSClient + wsLink over `ws`. */
function realClient(
  server: { url: string },
  options: { connectionParams?: Record<string, string> | (() => Promise<Record<string, string>>) } = {},
) {
  const sockets: WebSocket[] = [];
  class TrackedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  let opens = 0;
  const wsClient = createWSClient({
    url: server.url,
    WebSocket: TrackedWebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 20,
    connectionParams: options.connectionParams,
    onOpen: () => opens++,
  });
  const client = createTRPCClient<TestRouter>({ links: [wsLink({ client: wsClient })] });
  cleanups.push(async () => {
    // Terminate first: close() waits for requests in flight, which a broken server never answers.
    for (const socket of sockets) socket.terminate();
    await Promise.race([wsClient.close(), sleep(1_000)]);
    for (const socket of sockets) socket.terminate();
  });
  return { client, wsClient, sockets, opens: () => opens };
}

// ---------------------------------------------------------------------------------------------

describe('wire compatibility with @trpc/client (wsLink)', () => {
  it('answers a query and a mutation that returns undefined', async () => {
    const server = await startServer();
    const { client } = realClient(server);
    expect(await client.echo.query({ hello: 'world', list: [1, 2, null] })).toEqual({ hello: 'world', list: [1, 2, null] });
    expect(await client.echo.query('a string')).toBe('a string');
    expect(await client.nothing.mutate({ n: 1 })).toBeUndefined();
    expect(await client.whoami.query()).toBeNull();
  });

  it('gives the client a TRPCClientError carrying the typed error code', async () => {
    const server = await startServer();
    const { client } = realClient(server);
    const error = await client.fail.query().then(
      () => null,
      (cause: unknown) => cause,
    );
    expect(error).toBeInstanceOf(TRPCClientError);
    const clientError = error as TRPCClientError<TestRouter>;
    expect(clientError.message).toBe('not for you');
    expect(clientError.data?.code).toBe('FORBIDDEN');
    expect(clientError.data?.httpStatus).toBe(403);
    expect(clientError.data?.path).toBe('fail');

    const invalid = await client.nothing.mutate({ n: 'x' as unknown as number }).catch((cause: unknown) => cause);
    expect((invalid as TRPCClientError<TestRouter>).data?.code).toBe('BAD_REQUEST');

    const unsupported = await client.iterableQuery.query().catch((cause: unknown) => cause);
    expect((unsupported as TRPCClientError<TestRouter>).data?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('delivers tracked events as { id, data } after onStarted', async () => {
    const server = await startServer();
    const { client } = realClient(server);
    const received: Array<{ id: string; data: { text: string } }> = [];
    let started = 0;
    const subscription = client.events.subscribe(undefined, {
      onStarted: () => started++,
      onData: (value) => received.push(value),
    });
    await waitFor(() => started === 1 && server.state.feed.listenerCount === 1, 2_000, 'started');
    server.state.feed.emit('e1', 'one');
    server.state.feed.emit('e2', 'two');
    await waitFor(() => received.length === 2, 2_000, 'two events');
    expect(received).toEqual([
      { id: 'e1', data: { text: 'one' } },
      { id: 'e2', data: { text: 'two' } },
    ]);
    subscription.unsubscribe();
    // The client sends subscription.stop: the server-side generator ends and drops its listener.
    await waitFor(() => server.state.eventsFinished === 1, 2_000, 'generator finished');
    expect(server.state.feed.listenerCount).toBe(0);
    expect(server.state.eventsCalls[0]!.signal?.aborted).toBe(true);
  });

  it('calls onStopped and onComplete when the server generator returns', async () => {
    const server = await startServer();
    const { client } = realClient(server);
    const received: string[] = [];
    const calls: string[] = [];
    const done = deferred();
    client.plain.subscribe(
      { count: 3 },
      {
        onStarted: () => calls.push('started'),
        onData: (value) => received.push(value),
        onStopped: () => calls.push('stopped'),
        onComplete: () => {
          calls.push('complete');
          done.resolve();
        },
        onError: (error) => calls.push(`error ${error.message}`),
      },
    );
    await done.promise;
    expect(received).toEqual(['value 1', 'value 2', 'value 3']);
    expect(calls).toEqual(['started', 'stopped', 'complete']);
    expect(server.state.plainFinished).toBe(1);
  });

  it('reports a subscription error thrown mid-stream to onError with its code', async () => {
    const server = await startServer();
    const { client } = realClient(server);
    const received: string[] = [];
    const failed = deferred<unknown>();
    client.explode.subscribe(undefined, { onData: (value) => received.push(value), onError: (error) => failed.resolve(error) });
    const error = (await failed.promise) as TRPCClientError<TestRouter>;
    expect(received).toEqual(['first']);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error.data?.code).toBe('CONFLICT');
    expect(error.message).toBe('mid-stream failure');
  });

  it('resumes after a reconnect: the procedure sees input.lastEventId and nothing is lost or repeated', async () => {
    const server = await startServer();
    const { client, sockets } = realClient(server);
    const received: Array<{ id: string; data: { text: string } }> = [];
    let started = 0;
    const subscription = client.events.subscribe(undefined, {
      onStarted: () => started++,
      onData: (value) => received.push(value),
    });
    await waitFor(() => started === 1 && server.state.feed.listenerCount === 1, 2_000, 'started');
    server.state.feed.emit('e1', 'one');
    server.state.feed.emit('e2', 'two');
    await waitFor(() => received.length === 2, 2_000, 'first events');

    // Cut the line from the server side; the event published meanwhile must come back on resume.
    for (const socket of server.wss.clients) socket.terminate();
    await waitFor(() => server.state.feed.listenerCount === 0, 2_000, 'server-side cleanup');
    server.state.feed.emit('e3', 'three');
    await waitFor(() => started === 2 && server.state.feed.listenerCount === 1, 2_000, 'resubscribed');
    server.state.feed.emit('e4', 'four');
    await waitFor(() => received.length === 4, 2_000, 'resumed events');

    expect(sockets.length).toBe(2);
    expect(server.state.eventsCalls.map((call) => call.input)).toEqual([undefined, { lastEventId: 'e2' }]);
    expect(server.state.eventsCalls[0]!.signal?.aborted).toBe(true);
    expect(received.map((event) => event.id)).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(received[2]).toEqual({ id: 'e3', data: { text: 'three' } });
    subscription.unsubscribe();
  });

  it('passes the connectionParams option of createWSClient to createContext', async () => {
    const server = await startServer();
    const { client } = realClient(server, { connectionParams: { token: 'real-client-token' } });
    expect(await client.whoami.query()).toBe('real-client-token');
    expect(server.contexts).toHaveLength(1);
    expect(server.contexts[0]!.connectionParams).toEqual({ token: 'real-client-token' });
    expect(server.contexts[0]!.url).toContain('connectionParams=1');
  });
});

describe('raw protocol', () => {
  it('answers each request of a batch frame', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send([
      { id: 1, method: 'query', params: { path: 'echo', input: 'a' } },
      { id: 'two', method: 'mutation', params: { path: 'nothing', input: { n: 2 } } },
    ]);
    const first = await raw.next(byId(1));
    const second = await raw.next(byId('two'));
    expect(first.json).toEqual({ id: 1, result: { type: 'data', data: 'a' } });
    expect(second.json).toEqual({ id: 'two', result: { type: 'data' } });
    expect(raw.frames).toHaveLength(2);
  });

  it('echoes jsonrpc 2.0 in answers', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 5, jsonrpc: '2.0', method: 'query', params: { path: 'echo', input: 1 } });
    raw.send({ id: 6, jsonrpc: '2.0', method: 'query', params: { path: 'fail' } });
    expect((await raw.next(byId(5))).json).toEqual({ id: 5, jsonrpc: '2.0', result: { type: 'data', data: 1 } });
    const error = await raw.next(byId(6));
    expect(error.json?.jsonrpc).toBe('2.0');
    expect(errorCode(error)).toBe('FORBIDDEN');
  });

  it('streams a tracked subscription: started, then data frames carrying result.id and { id, data }', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 1, method: 'subscription', params: { path: 'events', input: {} } });
    expect((await raw.next(byId(1))).json).toEqual({ id: 1, result: { type: 'started' } });
    await waitFor(() => server.state.feed.listenerCount === 1);
    server.state.feed.emit('a', 'alpha');
    server.state.feed.emit('b', 'beta');
    expect((await raw.next(isResult(1, 'data'))).json).toEqual({
      id: 1,
      result: { type: 'data', id: 'a', data: { id: 'a', data: { text: 'alpha' } } },
    });
    expect((await raw.next(isResult(1, 'data'))).json).toEqual({
      id: 1,
      result: { type: 'data', id: 'b', data: { id: 'b', data: { text: 'beta' } } },
    });
  });

  it('streams plain values without an event id, then stopped when the generator returns', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 3, method: 'subscription', params: { path: 'plain', input: { count: 2 } } });
    await raw.next(isResult(3, 'stopped'));
    expect(raw.frames.map((frame) => frame.json)).toEqual([
      { id: 3, result: { type: 'started' } },
      { id: 3, result: { type: 'data', data: 'value 1' } },
      { id: 3, result: { type: 'data', data: 'value 2' } },
      { id: 3, result: { type: 'stopped' } },
    ]);
  });

  it('resumes from params.lastEventId on the raw wire too', async () => {
    const server = await startServer();
    server.state.feed.emit('1', 'one');
    server.state.feed.emit('2', 'two');
    server.state.feed.emit('3', 'three');
    const raw = await openRaw(server);
    raw.send({ id: 1, method: 'subscription', params: { path: 'events', input: {}, lastEventId: '1' } });
    await raw.next(isResult(1, 'started'));
    const replayed = [await raw.next(isResult(1, 'data')), await raw.next(isResult(1, 'data'))];
    expect(replayed.map((frame) => frame.json?.result?.id)).toEqual(['2', '3']);
    expect(server.state.eventsCalls[0]!.input).toEqual({ lastEventId: '1' });
  });

  it('subscription.stop answers stopped and aborts the signal the procedure was given', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 9, method: 'subscription', params: { path: 'events', input: {} } });
    await raw.next(isResult(9, 'started'));
    await waitFor(() => server.state.feed.listenerCount === 1);
    const { signal } = server.state.eventsCalls[0]!;
    expect(signal?.aborted).toBe(false);

    raw.send({ id: 9, method: 'subscription.stop' });
    expect((await raw.next(byId(9))).json).toEqual({ id: 9, result: { type: 'stopped' } });
    expect(signal?.aborted).toBe(true);
    await waitFor(() => server.state.eventsFinished === 1, 2_000, 'generator finished');
    expect(server.state.feed.listenerCount).toBe(0);
    expect(getEventListeners(signal!, 'abort')).toHaveLength(0);

    // Nothing more for that id, and the id can be used again.
    server.state.feed.emit('x', 'after stop');
    raw.send({ id: 9, method: 'subscription', params: { path: 'plain', input: { count: 1 } } });
    expect((await raw.next(byId(9))).json).toEqual({ id: 9, result: { type: 'started' } });
    expect((await raw.next(byId(9))).json).toEqual({ id: 9, result: { type: 'data', data: 'value 1' } });
    expect((await raw.next(byId(9))).json).toEqual({ id: 9, result: { type: 'stopped' } });
  });

  it('subscription.stop answers stopped for a subscription written as for-await over events.on(…, { signal })', async () => {
    // The pattern tRPC's docs use: on abort, `on()` rejects, so the generator throws an AbortError
    // instead of returning. @trpc/server's own adapter still answers `stopped` (it races the abort).
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 4, method: 'subscription', params: { path: 'nodeOn' } });
    await raw.next(isResult(4, 'started'));
    await waitFor(() => server.state.emitter.listenerCount('event') === 1);
    server.state.emitter.emit('event', 'hello');
    expect((await raw.next(isResult(4, 'data'))).json?.result?.data).toBe('hello');

    raw.send({ id: 4, method: 'subscription.stop' });
    await waitFor(() => server.state.emitter.listenerCount('event') === 0, 2_000, 'listener removed');
    expect(server.state.nodeOnCalls[0]!.signal?.aborted).toBe(true);
    expect(raw.frames.some(isError(4))).toBe(false);
    expect((await raw.next(byId(4), 1_000, 'stopped answer')).json).toEqual({ id: 4, result: { type: 'stopped' } });
  });

  it('refuses a duplicate subscription id with BAD_REQUEST and keeps the first one running', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 1, method: 'subscription', params: { path: 'events', input: {} } });
    await raw.next(isResult(1, 'started'));
    raw.send({ id: 1, method: 'subscription', params: { path: 'events', input: {} } });
    const duplicate = await raw.next(isError(1));
    expect(errorCode(duplicate)).toBe('BAD_REQUEST');
    expect(duplicate.json?.error?.message).toContain('Duplicate id');

    await waitFor(() => server.state.feed.listenerCount === 1);
    server.state.feed.emit('still', 'running');
    expect((await raw.next(isResult(1, 'data'))).json?.result?.id).toBe('still');
    expect(server.state.eventsCalls).toHaveLength(1);
  });

  it('answers bad frames with errors and keeps serving the socket after each', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    let n = 0;
    const stillServing = async () => {
      const id = `alive-${++n}`;
      raw.send({ id, method: 'query', params: { path: 'echo', input: n } });
      expect((await raw.next(byId(id))).json?.result?.data).toBe(n);
    };

    raw.send('{not json');
    const malformed = await raw.next(isError(null));
    expect(errorCode(malformed)).toBe('PARSE_ERROR');
    expect(malformed.json?.id).toBeNull();
    await stillServing();

    raw.ws.send(Buffer.from('{"id":1,"method":"query","params":{"path":"echo"}}'), { binary: true });
    expect(errorCode(await raw.next(isError(null)))).toBe('PARSE_ERROR');
    await stillServing();

    raw.send({ id: 2, params: { path: 'echo' } }); // no method
    expect(errorCode(await raw.next(isError(null)))).toBe('PARSE_ERROR');
    await stillServing();

    raw.send({ id: 3, method: 'query', params: { input: 1 } }); // no path
    expect(errorCode(await raw.next(isError(null)))).toBe('PARSE_ERROR');
    await stillServing();

    raw.send({ method: 'query', params: { path: 'echo' } }); // no id
    expect(errorCode(await raw.next(isError(null)))).toBe('PARSE_ERROR');
    await stillServing();

    raw.send({ id: null, method: 'query', params: { path: 'echo' } });
    const nullId = await raw.next(isError(null));
    expect(errorCode(nullId)).toBe('PARSE_ERROR');
    expect(nullId.json?.error?.message).toContain('`id` is required');
    await stillServing();

    raw.send({ id: 4, method: 'query', params: { path: 'no.such.procedure' } });
    const unknown = await raw.next(isError(4));
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    await stillServing();

    raw.send({ id: 5, method: 'mutation', params: { path: 'echo', input: 1 } }); // wrong type for the path
    expect(errorCode(await raw.next(isError(5)))).toBe('NOT_FOUND');
    await stillServing();

    raw.send({ id: 6, method: 'query', params: { path: 'iterableQuery' } });
    expect(errorCode(await raw.next(isError(6)))).toBe('UNSUPPORTED_MEDIA_TYPE');
    await stillServing();

    raw.send({ id: 7, method: 'subscription', params: { path: 'notIterable' } });
    expect(errorCode(await raw.next(isError(7)))).toBe('INTERNAL_SERVER_ERROR');
    await stillServing();

    raw.send({ id: 8, method: 'subscription.stop' }); // unknown subscription: ignored
    await stillServing();

    raw.send('PING');
    const pong = await raw.next((frame) => frame.raw === 'PONG');
    expect(pong.binary).toBe(false);
    await stillServing();

    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    expect(raw.frames.every((frame) => frame.raw === 'PONG' || frame.json !== undefined)).toBe(true);
  });

  it('reports a subscription error thrown mid-stream with the subscription id', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 'x', method: 'subscription', params: { path: 'explode' } });
    const error = await raw.next(isError('x'));
    expect(errorCode(error)).toBe('CONFLICT');
    // Then `stopped`, as tRPC's own adapter answers (issue 17).
    await raw.next(isResult('x', 'stopped'));
    expect(raw.frames.map((frame) => frame.json?.result?.type ?? 'error')).toEqual(['started', 'data', 'error', 'stopped']);
  });

  it('fails only the subscription that yields a value JSON cannot hold, and ends its stream', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 'bad', method: 'subscription', params: { path: 'unserializable' } });
    const error = await raw.next(isError('bad'));
    expect(errorCode(error)).toBe('INTERNAL_SERVER_ERROR');
    await vi.waitFor(() => expect(server.state.unserializableReturned).toBe(true));
    // The socket, and the server, carry on.
    raw.send({ id: 'after', method: 'query', params: { path: 'echo', input: 'still here' } });
    expect((await raw.next((frame) => frame.json?.id === 'after')).json?.result?.data).toBe('still here');
  });

  it('frees the id of a subscription refused by its input validation', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 1, method: 'subscription', params: { path: 'plain', input: { count: 'many' } } });
    expect(errorCode(await raw.next(isError(1)))).toBe('BAD_REQUEST');
    raw.send({ id: 1, method: 'subscription', params: { path: 'plain', input: { count: 1 } } });
    expect((await raw.next(byId(1))).json).toEqual({ id: 1, result: { type: 'started' } });
    await raw.next(isResult(1, 'stopped'));
  });

  it('serves observable subscriptions: values, stopped on completion, teardown on stop', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 1, method: 'subscription', params: { path: 'legacy', input: { count: 2 } } });
    await raw.next(isResult(1, 'stopped'));
    expect(raw.frames.map((frame) => frame.json)).toEqual([
      { id: 1, result: { type: 'started' } },
      { id: 1, result: { type: 'data', data: 1 } },
      { id: 1, result: { type: 'data', data: 2 } },
      { id: 1, result: { type: 'stopped' } },
    ]);
    expect(server.state.observableTeardowns).toBe(1);

    raw.send({ id: 2, method: 'subscription', params: { path: 'legacy', input: { count: null } } });
    await raw.next(isResult(2, 'started'));
    raw.send({ id: 2, method: 'subscription.stop' });
    expect((await raw.next(byId(2))).json).toEqual({ id: 2, result: { type: 'stopped' } });
    expect(server.state.observableTeardowns).toBe(2);
  });

  it('stop while the procedure still runs: the iterator is never started, stopped is answered and the id is free again', async () => {
    // After a normal stop the id is released (see above); a stop that lands while the procedure is
    // still running must release it too, or the entry stays in the socket's subscription map.
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 11, method: 'subscription', params: { path: 'slow' } });
    await waitFor(() => server.state.slowCalls.length === 1, 2_000, 'procedure called');
    raw.send({ id: 11, method: 'subscription.stop' });
    await waitFor(() => server.state.slowCalls[0]!.signal?.aborted === true, 2_000, 'signal aborted');
    server.state.slowGate.resolve();
    await raw.none(isResult(11, 'started'), 100, 'started after stop');
    expect(server.state.slowBodyRan).toBe(0);
    // The client is told it is over, as after any stop.
    expect((await raw.next(byId(11))).json).toEqual({ id: 11, result: { type: 'stopped' } });

    // The stopped subscription must not hold its id: a new subscription under id 11 starts.
    raw.send({ id: 11, method: 'subscription', params: { path: 'plain', input: { count: 1 } } });
    const answer = await raw.next(byId(11));
    expect(answer.json).toEqual({ id: 11, result: { type: 'started' } });
  });
});

describe('closing and cleanup', () => {
  it('aborts the signal of a subscription procedure still running when the socket closes', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send({ id: 1, method: 'subscription', params: { path: 'slow' } });
    await waitFor(() => server.state.slowCalls.length === 1, 2_000, 'procedure called');
    const { signal } = server.state.slowCalls[0]!;
    expect(signal?.aborted).toBe(false);

    raw.ws.close();
    await raw.closed;
    await waitFor(() => signal?.aborted === true, 2_000, 'signal aborted after close');
    await waitFor(() => server.handler.connectionCount === 0, 2_000, 'connection dropped');

    // The procedure returns its iterator afterwards: it is closed without running.
    server.state.slowGate.resolve();
    await sleep(50);
    expect(server.state.slowBodyRan).toBe(0);
    expect(server.errors).toEqual([]);
    expect(getEventListeners(signal!, 'abort')).toHaveLength(0);
  });

  it('aborts the signal of a query still running when the socket closes', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send([
      { id: 1, method: 'query', params: { path: 'hang' } },
      { id: 2, method: 'mutation', params: { path: 'nothing', input: { n: 1 } } },
    ]);
    await raw.next(byId(2));
    await waitFor(() => server.state.hangSignals.length === 1, 2_000, 'query running');
    expect(server.state.hangSignals[0]?.aborted).toBe(false);
    raw.ws.close();
    await waitFor(() => server.state.hangSignals[0]?.aborted === true, 2_000, 'query signal aborted');
  });

  it('ends running subscriptions when the socket closes', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send([
      { id: 1, method: 'subscription', params: { path: 'events', input: {} } },
      { id: 2, method: 'subscription', params: { path: 'events', input: {} } },
    ]);
    await raw.next(isResult(1, 'started'));
    await raw.next(isResult(2, 'started'));
    await waitFor(() => server.state.feed.listenerCount === 2);
    raw.ws.terminate();
    await waitFor(() => server.state.eventsFinished === 2, 2_000, 'generators finished');
    expect(server.state.feed.listenerCount).toBe(0);
    expect(server.state.eventsCalls.every((call) => call.signal?.aborted)).toBe(true);
    expect(server.handler.connectionCount).toBe(0);
  });
});

describe('output batching', () => {
  it('delivers every frame written to one socket in one turn, in order', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    const count = 500;
    raw.send({ id: 1, method: 'subscription', params: { path: 'burst', input: { count } } });
    await raw.next(isResult(1, 'stopped'), 2_500, 'end of burst');
    const types = raw.frames.map((frame) => frame.json?.result?.type);
    expect(types[0]).toBe('started');
    expect(types.at(-1)).toBe('stopped');
    const data = raw.frames.filter(isResult(1, 'data'));
    expect(data).toHaveLength(count);
    expect(data.map((frame) => frame.json?.result?.id)).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    expect(data.map((frame) => (frame.json?.result?.data as { data: { i: number } }).data.i)).toEqual(
      Array.from({ length: count }, (_, i) => i),
    );
    expect(raw.frames).toHaveLength(count + 2);
  });

  it('interleaves answers of several sockets without mixing them up', async () => {
    const server = await startServer();
    const clients = await Promise.all([openRaw(server), openRaw(server), openRaw(server)]);
    clients.forEach((client, c) =>
      client.send(Array.from({ length: 50 }, (_, i) => ({ id: i, method: 'query', params: { path: 'echo', input: `${c}:${i}` } }))),
    );
    for (const [c, client] of clients.entries()) {
      await waitFor(() => client.frames.length === 50, 2_000, `answers of socket ${c}`);
      const answers = new Map(client.frames.map((frame) => [frame.json?.id, frame.json?.result?.data]));
      for (let i = 0; i < 50; i++) expect(answers.get(i)).toBe(`${c}:${i}`);
    }
  });
});

describe('connectionParams', () => {
  it('takes the first frame as connectionParams and passes them to createContext', async () => {
    const server = await startServer();
    const raw = await openRaw(server, '/?connectionParams=1');
    raw.send({ method: 'connectionParams', data: { token: 'abc' } });
    raw.send({ id: 1, method: 'query', params: { path: 'whoami' } });
    expect((await raw.next(byId(1))).json).toEqual({ id: 1, result: { type: 'data', data: 'abc' } });
    expect(server.contexts).toEqual([{ connectionParams: { token: 'abc' }, url: '/?connectionParams=1' }]);
  });

  it('sends requests in the same frame batch right after the params: they wait for the context', async () => {
    const server = await startServer({
      createContext: async ({ connectionParams }) => {
        await sleep(50);
        return { userId: connectionParams?.token ?? null };
      },
    });
    const raw = await openRaw(server, '/?connectionParams=1');
    raw.send({ method: 'connectionParams', data: { token: 'slow' } });
    raw.send({ id: 1, method: 'query', params: { path: 'whoami' } });
    raw.send({ id: 2, method: 'subscription', params: { path: 'plain', input: { count: 1 } } });
    expect((await raw.next(byId(1))).json?.result?.data).toBe('slow');
    await raw.next(isResult(2, 'stopped'));
  });

  it('answers PING and ignores PONG before the params frame, then still takes the params', async () => {
    // A server keepalive PING can reach the client before it has its params (an async
    // connectionParams callback): the client's PONG must not take the place of the params frame.
    const server = await startServer();
    const raw = await openRaw(server, '/?connectionParams=1');
    raw.send('PONG');
    raw.send('PING');
    await raw.next((frame) => frame.raw === 'PONG');
    raw.send({ method: 'connectionParams', data: { token: 'after-ping' } });
    raw.send({ id: 1, method: 'query', params: { path: 'whoami' } });
    expect((await raw.next(byId(1))).json).toEqual({ id: 1, result: { type: 'data', data: 'after-ping' } });
    expect(server.contexts).toEqual([{ connectionParams: { token: 'after-ping' }, url: '/?connectionParams=1' }]);
  });

  it('works with the real client when its async connectionParams arrive after a keepalive PING', async () => {
    const server = await startServer({ keepAlive: { pingMs: 50, pongWaitMs: 1_000 } });
    const { client, sockets } = realClient(server, {
      connectionParams: async () => {
        await sleep(250); // e.g. fetching a token; meanwhile the client answers the server's PING
        return { token: 'fetched' };
      },
    });
    const answer = await Promise.race([client.whoami.query(), sleep(1_500).then(() => 'no answer within 1.5 s')]);
    expect(answer).toBe('fetched');
    expect(sockets).toHaveLength(1);
  });

  it('accepts null params', async () => {
    const server = await startServer();
    const raw = await openRaw(server, '/?connectionParams=1');
    raw.send({ method: 'connectionParams', data: null });
    raw.send({ id: 1, method: 'query', params: { path: 'whoami' } });
    expect((await raw.next(byId(1))).json?.result?.data).toBeNull();
    expect(server.contexts[0]!.connectionParams).toBeNull();
  });

  it("keeps tRPC's message for params of a bad shape: Invalid connection params shape", async () => {
    const server = await startServer();
    const raw = await openRaw(server, '/?connectionParams=1');
    raw.send({ method: 'connectionParams', data: { token: 5 } });
    expect((await raw.next(isError(null))).json?.error?.message).toBe('Invalid connection params shape');
    await raw.closed;
  });

  for (const [name, frame] of [
    ['a non-string value', JSON.stringify({ method: 'connectionParams', data: { token: 5 } })],
    ['data that is not an object', JSON.stringify({ method: 'connectionParams', data: 'token' })],
    ['an array', JSON.stringify({ method: 'connectionParams', data: ['abc'] })],
    ['a request instead of the params', JSON.stringify({ id: 1, method: 'query', params: { path: 'whoami' } })],
    ['malformed JSON', '{"method":"connectionParams",'],
  ] as const) {
    it(`answers bad params (${name}) with an error and closes the socket`, async () => {
      const server = await startServer();
      const raw = await openRaw(server, '/?connectionParams=1');
      raw.send(frame);
      const error = await raw.next(isError(null));
      expect(errorCode(error)).toBe('PARSE_ERROR');
      await raw.closed;
      expect(server.contexts).toEqual([]);
      await waitFor(() => server.handler.connectionCount === 0, 2_000, 'connection dropped');
    });
  }
});

describe('createContext failure', () => {
  it('answers with an error with id null and closes the socket', async () => {
    const server = await startServer({
      createContext: () => {
        throw new TRPCError({ code: 'UNAUTHORIZED', message: 'who are you' });
      },
    });
    const raw = await openRaw(server);
    raw.send({ id: 1, method: 'query', params: { path: 'echo', input: 1 } });
    const error = await raw.next(isError(null));
    expect(errorCode(error)).toBe('UNAUTHORIZED');
    expect(error.json?.error?.message).toBe('who are you');
    const { code } = await raw.closed;
    expect(code).toBe(1005); // a normal close handshake without status
    expect(raw.frames.some(byId(1))).toBe(false);
    expect(server.errors.map((info) => [info.error.code, info.type, info.path])).toEqual([['UNAUTHORIZED', 'unknown', undefined]]);
  });

  it('with a rejected promise too', async () => {
    const server = await startServer({ createContext: async () => Promise.reject(new Error('db down')) });
    const raw = await openRaw(server);
    const error = await raw.next(isError(null));
    expect(errorCode(error)).toBe('INTERNAL_SERVER_ERROR');
    await raw.closed;
  });
});

describe('keepalive', () => {
  it('terminates a socket that does not answer PING', async () => {
    const server = await startServer({ keepAlive: { pingMs: 100, pongWaitMs: 100 } });
    const started = Date.now();
    const raw = await openRaw(server);
    await raw.next((frame) => frame.raw === 'PING', 1_000, 'PING');
    const { code } = await raw.closed;
    expect(code).toBe(1006); // terminated, no close frame
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await waitFor(() => server.handler.connectionCount === 0);
  });

  it('keeps a socket that answers PONG open well past pingMs + pongWaitMs', async () => {
    const server = await startServer({ keepAlive: { pingMs: 100, pongWaitMs: 100 } });
    const raw = await openRaw(server);
    raw.ws.on('message', (data) => {
      if (data.toString() === 'PING') raw.ws.send('PONG');
    });
    await sleep(800);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    expect(raw.frames.filter((frame) => frame.raw === 'PING').length).toBeGreaterThanOrEqual(2);
    raw.send({ id: 1, method: 'query', params: { path: 'echo', input: 'alive' } });
    expect((await raw.next(byId(1))).json?.result?.data).toBe('alive');
  });

  it('does not ping a socket that keeps talking', async () => {
    const server = await startServer({ keepAlive: { pingMs: 200, pongWaitMs: 100 } });
    const raw = await openRaw(server);
    for (let i = 0; i < 10; i++) {
      raw.send({ id: i, method: 'query', params: { path: 'echo', input: i } });
      await sleep(50);
    }
    expect(raw.frames.some((frame) => frame.raw === 'PING')).toBe(false);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('keeps the real client (which answers PING) connected', async () => {
    const server = await startServer({ keepAlive: { pingMs: 100, pongWaitMs: 100 } });
    const { client, sockets } = realClient(server);
    expect(await client.echo.query(1)).toBe(1);
    await sleep(600);
    expect(await client.echo.query(2)).toBe(2);
    expect(sockets).toHaveLength(1);
  });
});

describe('broadcastReconnectNotification', () => {
  it('sends {"id":null,"method":"reconnect"} to every open socket', async () => {
    const server = await startServer();
    const clients = await Promise.all([openRaw(server), openRaw(server), openRaw(server)]);
    const gone = await openRaw(server);
    gone.ws.close();
    await gone.closed;
    await waitFor(() => server.handler.connectionCount === 3, 2_000, 'three connections');
    server.handler.broadcastReconnectNotification();
    for (const client of clients) {
      const frame = await client.next((f) => f.json?.method === 'reconnect');
      expect(frame.raw).toBe('{"id":null,"method":"reconnect"}');
    }
    expect(gone.frames).toEqual([]);
  });

  it('makes the real client reconnect and resume its subscription', async () => {
    const server = await startServer();
    const { client, sockets } = realClient(server);
    const received: string[] = [];
    let started = 0;
    client.events.subscribe(undefined, { onStarted: () => started++, onData: (value) => received.push(value.id) });
    await waitFor(() => started === 1 && server.state.feed.listenerCount === 1);
    server.state.feed.emit('r1', 'before');
    await waitFor(() => received.length === 1);
    server.handler.broadcastReconnectNotification();
    await waitFor(() => started === 2 && server.state.feed.listenerCount === 1, 2_000, 'resubscribed');
    server.state.feed.emit('r2', 'after');
    await waitFor(() => received.length === 2);
    expect(received).toEqual(['r1', 'r2']);
    expect(sockets).toHaveLength(2);
    expect(server.state.eventsCalls[1]!.input).toEqual({ lastEventId: 'r1' });
  });
});

describe('onError', () => {
  it('is called for a procedure error with the path, type, input and context', async () => {
    const server = await startServer();
    const raw = await openRaw(server, '/?connectionParams=1');
    raw.send({ method: 'connectionParams', data: { token: 'u1' } });
    raw.send({ id: 1, method: 'query', params: { path: 'fail', input: { some: 'input' } } });
    await raw.next(isError(1));
    raw.send({ id: 2, method: 'subscription', params: { path: 'explode' } });
    await raw.next(isError(2));
    raw.send({ id: 3, method: 'query', params: { path: 'echo', input: 'fine' } });
    await raw.next(byId(3));

    expect(server.errors).toHaveLength(2);
    const [query, subscription] = server.errors;
    expect(query!.error).toBeInstanceOf(TRPCError);
    expect(query!.error.code).toBe('FORBIDDEN');
    expect(query!.path).toBe('fail');
    expect(query!.type).toBe('query');
    expect(query!.input).toEqual({ some: 'input' });
    expect(query!.ctx).toEqual({ userId: 'u1' });
    expect(subscription!.error.code).toBe('CONFLICT');
    expect(subscription!.path).toBe('explode');
    expect(subscription!.type).toBe('subscription');
  });

  it('is called for parse errors with type unknown', async () => {
    const server = await startServer();
    const raw = await openRaw(server);
    raw.send('nope');
    await raw.next(isError(null));
    expect(server.errors.map((info) => [info.error.code, info.type, info.path])).toEqual([['PARSE_ERROR', 'unknown', undefined]]);
  });
});

describe('with a data transformer', () => {
  /** Dates survive the wire; like superjson, the serialized form is an envelope `{ json }`. */
  const flatten = (value: unknown): unknown =>
    value instanceof Date
      ? { $date: value.toISOString() }
      : Array.isArray(value)
        ? value.map(flatten)
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, flatten(item)]))
          : value;
  const revive = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(revive)
      : value !== null && typeof value === 'object'
        ? '$date' in value
          ? new Date((value as { $date: string }).$date)
          : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, revive(item)]))
        : value;
  const transformer = {
    serialize: (value: unknown) => ({ json: flatten(value) }),
    deserialize: (value: unknown) => revive((value as { json?: unknown } | undefined)?.json),
  };

  async function startTransformerServer() {
    const t = initTRPC.context<Ctx>().create({ transformer });
    const router = t.router({
      when: t.procedure.input(z.object({ at: z.date() })).query(({ input }) => ({ at: input.at, next: new Date(input.at.getTime() + 1) })),
      plainDates: t.procedure.subscription(async function* () {
        yield new Date(0);
      }),
      trackedDates: t.procedure.subscription(async function* () {
        yield tracked('d1', { at: new Date(0) });
      }),
    });
    const served = await serve({ router, createContext: () => ({ userId: null }) });
    const wsClient = createWSClient({ url: served.url, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });
    cleanups.push(async () => void (await Promise.race([wsClient.close(), sleep(1_000)])));
    const client = createTRPCClient<typeof router>({ links: [wsLink({ client: wsClient, transformer })] });
    return { ...served, client };
  }

  it('transforms query input and output', async () => {
    const { client } = await startTransformerServer();
    expect(await client.when.query({ at: new Date(1_000) })).toEqual({ at: new Date(1_000), next: new Date(1_001) });
  });

  it('transforms plain subscription values', async () => {
    const { client } = await startTransformerServer();
    const received = deferred<unknown>();
    client.plainDates.subscribe(undefined, { onData: (value) => received.resolve(value) });
    expect(await received.promise).toEqual(new Date(0));
  });

  it('transforms tracked subscription values as @trpc/server does: the client gets { id, data }', async () => {
    // The client deserializes `result.data` as a whole, and @trpc/server serializes `{ id, data }`
    // as a whole; serializing only `data` inside the envelope breaks every transformer that wraps.
    const { client } = await startTransformerServer();
    const received = deferred<unknown>();
    client.trackedDates.subscribe(undefined, { onData: (value) => received.resolve(value), onError: (error) => received.resolve(error) });
    expect(await received.promise).toEqual({ id: 'd1', data: { at: new Date(0) } });
  });
});

describe('encodeJson', () => {
  const same = (value: unknown) => expect(encodeJson(value)).toBe(JSON.stringify(value));

  it('equals JSON.stringify for primitives and undefined', () => {
    for (const value of [0, -1.5, 1e21, NaN, Infinity, 'text', 'quote " and \\ and \u2028', '', true, false, null]) same(value);
    expect(encodeJson(undefined)).toBeUndefined();
    expect(encodeJson(() => 1)).toBeUndefined();
    expect(encodeJson(Symbol('s'))).toBeUndefined();
    expect(() => encodeJson(1n)).toThrow(TypeError);
  });

  it('equals JSON.stringify for objects and arrays, with undefined and function elements as null', () => {
    same({ a: 1, b: { c: [1, 'two', { d: null }] }, skipped: undefined, fn: () => 1 });
    same([1, undefined, () => 1, Symbol('s'), 'x', null]);
    // eslint-disable-next-line no-sparse-arrays
    same([1, , 3]);
    same([]);
    same([[1, undefined], { a: [undefined] }]);
    same({});
    expect(encodeJson([1, undefined, () => 1])).toBe('[1,null,null]');
  });

  it('equals JSON.stringify for objects with toJSON (Date), alone and as array elements', () => {
    const date = new Date('2024-05-06T07:08:09.010Z');
    same(date);
    same([date, { at: date }]);
    same({ toJSON: () => ({ replaced: true }) });
    same({ toJSON: () => undefined });
    same([{ toJSON: () => undefined }]);
    const arrayWithToJSON = Object.assign([1, 2], { toJSON: () => 'custom' });
    same(arrayWithToJSON);
    expect(encodeJson(arrayWithToJSON)).toBe('"custom"');
  });

  it('equals JSON.stringify for frozen objects, frozen arrays and arrays of frozen objects', () => {
    const frozen = Object.freeze({ id: 1, tags: ['a', 'b'], nested: { x: null } });
    same(frozen);
    same(frozen); // from the cache
    same(Object.freeze([1, 2, frozen]));
    const events = [frozen, Object.freeze({ id: 2 }), { id: 3, notFrozen: true }, undefined, Object.freeze(new Date(0))];
    same(events);
    same(events);
    same([Object.freeze([]), Object.freeze({})]);
  });

  it('serializes a shared object once, also as an element of a non-shared array', () => {
    let calls = 0;
    const frozen = share({
      toJSON() {
        calls++;
        return { value: 'frozen' };
      },
    });
    expect(encodeJson(frozen)).toBe('{"value":"frozen"}');
    expect(encodeJson(frozen)).toBe('{"value":"frozen"}');
    expect(calls).toBe(1);
    expect(encodeJson([frozen, frozen, 1])).toBe('[{"value":"frozen"},{"value":"frozen"},1]');
    expect(calls).toBe(1);
    // JSON.stringify itself does call toJSON on a shared object: the saving is encodeJson's.
    JSON.stringify(frozen);
    expect(calls).toBe(2);

    let elementCalls = 0;
    const element = share({
      toJSON() {
        elementCalls++;
        return 'element';
      },
    });
    expect(encodeJson([element])).toBe('["element"]');
    expect(encodeJson([element, element])).toBe('["element","element"]');
    expect(elementCalls).toBe(1);
  });

  it('serializes a non-frozen object every time', () => {
    let calls = 0;
    const mutable = {
      toJSON() {
        calls++;
        return { calls };
      },
    };
    expect(encodeJson(mutable)).toBe('{"calls":1}');
    expect(encodeJson(mutable)).toBe('{"calls":2}');
    expect(encodeJson([mutable])).toBe('[{"calls":3}]');
    expect(calls).toBe(3);
  });

  it('re-encodes an object that is only frozen (not shared): a nested field changed later is sent as it is now', () => {
    const event = Object.freeze({ message: { content: 'before' } });
    expect(encodeJson(event)).toBe('{"message":{"content":"before"}}');
    event.message.content = 'after'; // Object.freeze is shallow
    expect(encodeJson(event)).toBe('{"message":{"content":"after"}}');
    expect(encodeJson([event])).toBe('[{"message":{"content":"after"}}]');
  });

  it('share() freezes the whole tree outside production: changing a nested field after sharing throws, so the cached JSON cannot go stale', () => {
    expect(process.env.NODE_ENV).not.toBe('production');
    const event = share({ type: 'message', message: { content: 'sent', tags: ['a'] } });
    expect(isShared(event)).toBe(true);
    expect(encodeJson([event])).toBe('[{"type":"message","message":{"content":"sent","tags":["a"]}}]');
    expect(() => {
      (event.message as { content: string }).content = 'changed';
    }).toThrow(TypeError);
    expect(() => (event.message.tags as string[]).push('b')).toThrow(TypeError);
    expect(encodeJson(event)).toBe('{"type":"message","message":{"content":"sent","tags":["a"]}}');
    expect(JSON.stringify(event)).toBe(encodeJson(event));
    expect(isShared(Object.freeze({}))).toBe(false);
  });

  it('is what the adapter sends: a shared event published to many subscribers is serialized once', async () => {
    const server = await startServer();
    let calls = 0;
    const payload = share({
      toJSON() {
        calls++;
        return { shared: true };
      },
    });
    const clients = await Promise.all([openRaw(server), openRaw(server), openRaw(server)]);
    for (const client of clients) client.send({ id: 1, method: 'subscription', params: { path: 'events', input: {} } });
    for (const client of clients) await client.next(isResult(1, 'started'));
    await waitFor(() => server.state.feed.listenerCount === 3);
    server.state.feed.publish({ id: 'shared', data: payload as unknown as { text: string } });
    for (const client of clients) {
      expect((await client.next(isResult(1, 'data'))).json?.result).toEqual({ type: 'data', id: 'shared', data: { id: 'shared', data: { shared: true } } });
    }
    expect(calls).toBe(1);
  });
});

describe('ending streams, and maxSubscriptions', () => {
  /** A stream that only ends through return(): next() stays pending until then, whatever the signal. */
  function quietRouter() {
    const t = initTRPC.create();
    const seen = { signals: [] as Array<AbortSignal | undefined>, returned: 0, open: 0 };
    const quiet = () => {
      let wake: ((result: IteratorResult<number>) => void) | null = null;
      seen.open++;
      const iterator: AsyncIterableIterator<number> = {
        next: () => new Promise((resolve) => (wake = resolve)),
        return: async () => {
          seen.returned++;
          seen.open--;
          wake?.({ done: true, value: undefined });
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return iterator;
    };
    const router = t.router({
      marked: t.procedure.subscription(({ signal }) => {
        seen.signals.push(signal);
        return quiet();
      }),
      unmarked: t.procedure.subscription(({ signal }) => {
        seen.signals.push(signal);
        return quiet();
      }),
    });
    return { router, seen };
  }

  it('gives every stream its abort signal, and on stop and on close both aborts it and calls return()', async () => {
    // Before issue 19 a procedure marked `meta.endsOnReturn` got no signal and was trusted to end
    // on return(); now the signal is the default and nothing is trusted.
    const { router, seen } = quietRouter();
    const served = await serve({ router, createContext: () => ({}) });
    const raw = rawClient(served.url);
    await raw.opened;
    raw.send([
      { id: 1, method: 'subscription', params: { path: 'marked' } },
      { id: 2, method: 'subscription', params: { path: 'marked' } },
      { id: 3, method: 'subscription', params: { path: 'unmarked' } },
    ]);
    for (const id of [1, 2, 3]) await raw.next(isResult(id, 'started'));
    for (const signal of seen.signals) expect(signal).toBeInstanceOf(AbortSignal);

    raw.send({ id: 1, method: 'subscription.stop' });
    await raw.next(isResult(1, 'stopped'));
    await waitFor(() => seen.returned === 1, 1_000, 'return() on stop');
    expect(seen.open).toBe(2);
    expect(seen.signals[0]!.aborted).toBe(true);
    expect(seen.signals[1]!.aborted).toBe(false);

    raw.ws.close();
    await raw.closed;
    await waitFor(() => seen.returned === 3, 1_000, 'return() of every open stream on close');
    expect(seen.open).toBe(0);
    expect(seen.signals.every((signal) => signal!.aborted)).toBe(true);
  });

  it('lets go of the signal of a push stream that ends on return(), unless the procedure listens to it too', async () => {
    const t = initTRPC.create();
    const bus = createMemoryBus();
    const topic = { key: 'feed' } as const;
    const seen = { signals: [] as AbortSignal[], cleanups: 0 };
    const open = (signal: AbortSignal) => new LiveStream<string, string[]>(bus.subscribe(topic, { signal }), { onBatch: (batch, _overflowed, out) => out.emit(batch) });
    const router = t.router({
      live: t.procedure.subscription(({ signal }) => {
        seen.signals.push(signal!);
        return open(signal!);
      }),
      // Sets up something of its own on the signal: it keeps its signal, aborted on stop.
      liveWithCleanup: t.procedure.subscription(({ signal }) => {
        seen.signals.push(signal!);
        signal!.addEventListener('abort', () => seen.cleanups++, { once: true });
        return open(signal!);
      }),
    });
    const served = await serve({ router, createContext: () => ({}) });
    const raw = rawClient(served.url);
    await raw.opened;
    raw.send([
      { id: 1, method: 'subscription', params: { path: 'live' } },
      { id: 2, method: 'subscription', params: { path: 'liveWithCleanup' } },
      { id: 3, method: 'subscription', params: { path: 'live' } },
    ]);
    for (const id of [1, 2, 3]) await raw.next(isResult(id, 'started'));
    expect(bus.listenerCount(topic)).toBe(3);
    // Nothing listens to the released signals any more; the other one still has its cleanup.
    expect(seen.signals.map((signal) => getEventListeners(signal, 'abort').length)).toEqual([0, 1, 0]);
    void bus.publish(topic, 'hello');
    for (const id of [1, 2, 3]) expect((await raw.next(isResult(id, 'data'))).json!.result!.data).toEqual(['hello']);

    raw.send({ id: 1, method: 'subscription.stop' });
    await raw.next(isResult(1, 'stopped'));
    expect(bus.listenerCount(topic)).toBe(2); // ended through return()
    raw.send({ id: 2, method: 'subscription.stop' });
    await raw.next(isResult(2, 'stopped'));
    expect(bus.listenerCount(topic)).toBe(1);
    expect(seen.signals[1]!.aborted).toBe(true);
    expect(seen.cleanups).toBe(1);

    raw.ws.close();
    await raw.closed;
    await waitFor(() => bus.listenerCount(topic) === 0, 1_000, 'the last stream ended with its socket');
  });

  it('refuses one subscription more than maxSubscriptions with TOO_MANY_REQUESTS and frees a slot on stop', async () => {
    const { router } = quietRouter();
    const served = await serve({ router, createContext: () => ({}), maxSubscriptions: 2 });
    const raw = rawClient(served.url);
    await raw.opened;
    for (const id of [1, 2, 3]) raw.send({ id, method: 'subscription', params: { path: 'marked' } });
    await raw.next(isResult(1, 'started'));
    await raw.next(isResult(2, 'started'));
    expect(errorCode(await raw.next(isError(3)))).toBe('TOO_MANY_REQUESTS');
    raw.send({ id: 1, method: 'subscription.stop' });
    await raw.next(isResult(1, 'stopped'));
    raw.send({ id: 4, method: 'subscription', params: { path: 'marked' } });
    await raw.next(isResult(4, 'started'));
    expect(served.handler.connectionCount).toBe(1);
  });
});

describe('frames written as bytes', () => {
  it('textFrame builds exactly the frame ws would send, for every payload length encoding', async () => {
    const { Sender } = (await import('ws')) as unknown as {
      Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
    };
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      for (const text of ['x'.repeat(length), 'é'.repeat(Math.ceil(length / 2))]) {
        const expected = Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
        expect(textFrame(text).equals(expected)).toBe(true);
      }
    }
  });

  it('the real client receives small, 16-bit and 64-bit length frames, one shared frame per event for many subscribers', async () => {
    const t = initTRPC.create();
    const event = Object.freeze({ text: 'é'.repeat(40_000) });
    const small = Object.freeze({ text: 'hi' });
    const medium = Object.freeze({ text: 'm'.repeat(1_000) });
    const router = t.router({
      big: t.procedure.subscription(async function* () {
        yield tracked('1', [small]);
        yield tracked('2', [medium]);
        yield tracked('3', [event]);
      }),
    });
    const served = await serve({ router, createContext: () => ({}) });
    const clients = Array.from({ length: 3 }, () => realClient(served));
    const received = await Promise.all(
      clients.map(
        ({ client }) =>
          new Promise<unknown[]>((resolve, reject) => {
            const values: unknown[] = [];
            (client as unknown as { big: { subscribe: (input: undefined, handlers: object) => void } }).big.subscribe(undefined, {
              onData: (value: unknown) => values.push(value),
              onComplete: () => resolve(values),
              onError: reject,
            });
          }),
      ),
    );
    for (const values of received) {
      expect(values).toEqual([
        { id: '1', data: [small] },
        { id: '2', data: [medium] },
        { id: '3', data: [event] },
      ]);
    }
  });
});
