/**
 * Differential test (GUIDE.md, "Backends"): the same raw frames to tRPC's own `applyWSSHandler`
 * and to our adapter must get the same answers, except for the cases listed and justified in
 * src/server/http/ws/differences.ts, which must really differ.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { observable } from '@trpc/server/observable';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KNOWN_DIFFERENCES, type KnownDifference } from '../src/server/http/ws/differences.js';
import { applyLeanWSHandler } from '../src/server/http/ws-adapter.js';

type Ctx = { token: string | null };

function createRouter() {
  const t = initTRPC.context<Ctx>().create();
  let gate: { promise: Promise<void>; open(): void } = { promise: Promise.resolve(), open: () => undefined };
  return t.router({
    echo: t.procedure.input(z.unknown()).query(({ input }) => input),
    whoami: t.procedure.query(({ ctx }) => ctx.token),
    nothing: t.procedure.input(z.object({ n: z.number() })).mutation(() => undefined),
    fail: t.procedure.query(() => {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'not for you' });
    }),
    crash: t.procedure.query(() => {
      throw new Error('internal detail');
    }),
    iterableQuery: t.procedure.query(async function* () {
      yield 1;
    }),
    notIterable: t.procedure.subscription((() => 42) as unknown as () => AsyncGenerator<number>),
    plain: t.procedure.input(z.object({ count: z.number() })).subscription(async function* ({ input }) {
      for (let i = 1; i <= input.count; i++) yield `value ${i}`;
    }),
    tracked: t.procedure.input(z.object({ lastEventId: z.string().nullish() }).optional()).subscription(async function* ({ input }) {
      const from = Number(input?.lastEventId ?? 0);
      for (let i = from + 1; i <= from + 3; i++) yield tracked(String(i), { i, text: `event ${i}` });
    }),
    forever: t.procedure.subscription(async function* ({ signal }) {
      yield 'first';
      await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
    }),
    explode: t.procedure.subscription(async function* () {
      yield 'first';
      throw new TRPCError({ code: 'CONFLICT', message: 'mid-stream failure' });
    }),
    unserializable: t.procedure.subscription(async function* () {
      yield 'first';
      yield { big: 1n };
    }),
    legacy: t.procedure.input(z.object({ count: z.number() })).subscription(({ input }) =>
      observable<number>((emit) => {
        for (let i = 1; i <= input.count; i++) emit.next(i);
        emit.complete();
        return () => undefined;
      }),
    ),
    /** Returns its stream only once `openGate` is called (after `closeGate`). */
    slow: t.procedure.subscription(async () => {
      await gate.promise;
      return (async function* () {
        yield 'late';
      })();
    }),
    closeGate: t.procedure.mutation(() => {
      let open!: () => void;
      gate = { promise: new Promise((resolve) => (open = resolve)), open: () => open() };
    }),
    openGate: t.procedure.mutation(() => gate.open()),
  });
}

type Mode = 'normal' | 'contextFails';
type Server = { url: string; close(): Promise<void> };

async function startServer(kind: 'trpc' | 'ours', mode: Mode): Promise<Server> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server });
  const router = createRouter();
  const createContext = async ({ info }: { info?: { connectionParams: Record<string, string | undefined> | null } }, connectionParams?: Record<string, string> | null): Promise<Ctx> => {
    if (mode === 'contextFails') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'who are you' });
    const params = connectionParams ?? info?.connectionParams ?? null;
    return { token: params?.token ?? null };
  };
  const stop =
    kind === 'trpc'
      ? (applyWSSHandler({ wss, router, createContext: (opts) => createContext(opts) }), () => undefined)
      : applyLeanWSHandler({ wss, router, createContext: (opts) => createContext({}, opts.connectionParams) }).stop;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      stop();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A frame to send, or `until`: wait until an answer containing that text has arrived. */
type Frame = string | { binary: Buffer } | { until: string };
/** `silent`: neither adapter answers anything. */
type Scenario = { name: string; frames: Frame[]; query?: string; mode?: Mode; differs?: KnownDifference; silent?: true };

const request = (id: number | string | null, method: string, path?: string, input?: unknown, extra: object = {}) =>
  JSON.stringify({ id, method, ...(path === undefined ? {} : { params: { path, input, ...extra } }), ...(extra as { jsonrpc?: string }).jsonrpc ? { jsonrpc: '2.0' } : {} });

const SCENARIOS: Scenario[] = [
  { name: 'a query', frames: [request(1, 'query', 'echo', { a: [1, 'two', null] })] },
  { name: 'a mutation returning undefined', frames: [request(1, 'mutation', 'nothing', { n: 1 })] },
  { name: 'a typed error', frames: [request(1, 'query', 'fail')] },
  { name: 'an unexpected error', frames: [request(1, 'query', 'crash')] },
  { name: 'an unknown path', frames: [request(1, 'query', 'nope')] },
  { name: 'invalid input', frames: [request(1, 'mutation', 'nothing', { n: 'x' })] },
  { name: 'a query sent as a mutation', frames: [request(1, 'mutation', 'echo', 1)] },
  { name: 'a batch frame', frames: [`[${[request(1, 'query', 'echo', 1), request(2, 'query', 'fail'), request('three', 'query', 'echo', 'x')].join(',')}]`] },
  { name: 'jsonrpc 2.0', frames: [JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'query', params: { path: 'echo', input: 1 } })] },
  { name: 'a request without id', frames: [request(null, 'query', 'echo', 1)] },
  { name: 'malformed JSON', frames: ['{"id":1,'] },
  { name: 'an unknown method', frames: [request(1, 'fetch', 'echo', 1)] },
  { name: 'a request without params', frames: [JSON.stringify({ id: 1, method: 'query' })] },
  { name: 'an empty batch', frames: ['[]'], silent: true },
  { name: 'an async iterable from a query', frames: [request(1, 'query', 'iterableQuery')] },
  { name: 'a subscription that returns no stream', frames: [request(1, 'subscription', 'notIterable')] },
  { name: 'a subscription that ends', frames: [request(1, 'subscription', 'plain', { count: 3 })] },
  { name: 'tracked events', frames: [request(1, 'subscription', 'tracked')] },
  { name: 'tracked events resumed from lastEventId', frames: [JSON.stringify({ id: 1, method: 'subscription', params: { path: 'tracked', lastEventId: '7' } })] },
  { name: 'an error mid-stream (error, then stopped)', frames: [request(1, 'subscription', 'explode')] },
  { name: 'a value that cannot be serialized', frames: [request(1, 'subscription', 'unserializable')] },
  { name: 'an observable subscription', frames: [request(1, 'subscription', 'legacy', { count: 2 })] },
  { name: 'subscription.stop', frames: [request(1, 'subscription', 'forever'), { until: '"first"' }, JSON.stringify({ id: 1, method: 'subscription.stop' })] },
  { name: 'subscription.stop of an unknown id', frames: [JSON.stringify({ id: 9, method: 'subscription.stop' })], silent: true },
  { name: 'invalid subscription input', frames: [request(1, 'subscription', 'plain', { count: 'x' })] },
  { name: 'PING', frames: ['PING', 'PONG'] },
  { name: 'connectionParams', query: '?connectionParams=1', frames: [JSON.stringify({ method: 'connectionParams', data: { token: 'abc' } }), request(1, 'query', 'whoami')] },
  { name: 'null connectionParams', query: '?connectionParams=1', frames: [JSON.stringify({ method: 'connectionParams', data: null }), request(1, 'query', 'whoami')] },
  { name: 'connectionParams of a bad shape', query: '?connectionParams=1', frames: [JSON.stringify({ method: 'connectionParams', data: { token: 5 } })] },
  { name: 'a malformed connectionParams frame', query: '?connectionParams=1', frames: ['{"method":'] },
  { name: 'a context that fails', mode: 'contextFails', frames: [] },
  { name: 'a context that fails, with requests pending', mode: 'contextFails', query: '?connectionParams=1', frames: [JSON.stringify({ method: 'connectionParams', data: null }), `[${request(1, 'query', 'echo', 1)},${request(2, 'subscription', 'plain', { count: 1 })}]`] },
  { name: 'a binary frame', frames: [{ binary: Buffer.from(request(1, 'query', 'echo', 1)) }], differs: 'binaryFrame' },
  {
    name: 'subscription.stop while the procedure runs',
    frames: [
      request(0, 'mutation', 'closeGate'),
      { until: '"id":0' },
      request(1, 'subscription', 'slow'),
      JSON.stringify({ id: 1, method: 'subscription.stop' }),
      request(2, 'mutation', 'openGate'),
    ],
    differs: 'stopWhileProcedureRuns',
  },
  { name: 'a duplicate subscription id', frames: [`[${request(1, 'subscription', 'forever')},${request(1, 'subscription', 'forever')}]`], differs: 'duplicateIdOrder' },
];

type Outcome = { answers: Array<[string, unknown[]]>; closeCode: number | null; raw: string[] };

/** Sends the frames, then collects answers until the socket has been quiet for a while (or closed). */
async function run(server: Server, scenario: Scenario): Promise<Outcome> {
  const ws = new WebSocket(server.url + (scenario.query ?? ''));
  const raw: string[] = [];
  let lastFrameAt = Date.now();
  let closeCode: number | null = null;
  ws.on('message', (data) => {
    raw.push(data.toString());
    lastFrameAt = Date.now();
  });
  ws.on('close', (code) => (closeCode = code));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  for (const frame of scenario.frames) {
    if (typeof frame === 'string') ws.send(frame);
    else if ('binary' in frame) ws.send(frame.binary, { binary: true });
    else {
      const deadline = Date.now() + 3_000;
      while (!raw.some((text) => text.includes(frame.until)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  lastFrameAt = Date.now();
  const deadline = Date.now() + 3_000;
  while (closeCode === null && Date.now() - lastFrameAt < 250 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  ws.terminate();
  return { answers: normalize(raw), closeCode, raw };
}

/** Answers grouped by id, in order per id (ids interleave as their procedures finish); error stacks removed. */
function normalize(raw: string[]): Array<[string, unknown[]]> {
  const byId = new Map<string, unknown[]>();
  for (const text of raw) {
    let answer: unknown = text;
    try {
      answer = JSON.parse(text);
      const data = (answer as { error?: { data?: { stack?: unknown } } }).error?.data;
      if (data) delete data.stack;
    } catch {
      // PING/PONG
    }
    const key = typeof answer === 'object' && answer !== null && 'id' in answer ? JSON.stringify((answer as { id: unknown }).id) : 'text';
    byId.set(key, [...(byId.get(key) ?? []), answer]);
  }
  return [...byId.entries()].sort(([a], [b]) => a.localeCompare(b));
}

const servers: Record<Mode, { trpc: Server; ours: Server } | null> = { normal: null, contextFails: null };
async function serversFor(mode: Mode) {
  servers[mode] ??= { trpc: await startServer('trpc', mode), ours: await startServer('ours', mode) };
  return servers[mode];
}
afterAll(async () => {
  for (const pair of Object.values(servers)) if (pair) await Promise.all([pair.trpc.close(), pair.ours.close()]);
});

describe('the same frames to applyWSSHandler and to our adapter', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: ${scenario.differs ? `differs as documented (${scenario.differs})` : 'identical answers'}`, async () => {
      const { trpc, ours } = await serversFor(scenario.mode ?? 'normal');
      const [theirs, mine] = await Promise.all([run(trpc, scenario), run(ours, scenario)]);
      if (scenario.differs) {
        expect(KNOWN_DIFFERENCES[scenario.differs].why.length).toBeGreaterThan(0);
        expect(mine.answers).not.toEqual(theirs.answers);
        return;
      }
      expect(mine.answers).toEqual(theirs.answers);
      expect(mine.closeCode).toBe(theirs.closeCode);
      // Answers were really compared: each scenario gets some, or is known to get none.
      if (scenario.silent) expect(theirs.raw).toEqual([]);
      else expect(theirs.raw.length + (theirs.closeCode ?? 0)).toBeGreaterThan(0);
    });
  }

  it('every known difference is exercised by a scenario', () => {
    const exercised = new Set(SCENARIOS.map((scenario) => scenario.differs).filter(Boolean));
    expect([...exercised].sort()).toEqual(Object.keys(KNOWN_DIFFERENCES).sort());
  });
});
