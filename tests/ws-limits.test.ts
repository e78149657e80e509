/**
 * What one socket may cost (issue 17): requests are counted one by one (not frames), a frame
 * holds at most `maxPerFrame` of them, at most `maxInFlight` run at once, the bytes owed to a
 * socket are bounded as they are queued (ephemeral values shed first, then close 4002), and a
 * context that fails answers every pending request on its own id.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { WS_CLOSE } from '../src/server/http/ws-adapter.js';
import { RequestSlots } from '../src/server/http/ws/connection.js';
import { openClient, serveLean, waitFor, type Cleanups } from './ws-helpers.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function fixture() {
  const t = initTRPC.create();
  const state = { started: 0, gates: [] as Array<() => void>, emit: null as ((value: unknown) => void) | null };
  const router = t.router({
    echo: t.procedure.input(z.unknown()).query(({ input }) => input),
    /** Waits until the test opens its gate. */
    gated: t.procedure.query(async () => {
      state.started++;
      await new Promise<void>((resolve) => state.gates.push(resolve));
      return 'done';
    }),
    /** Yields what the test hands to `state.emit`, until stopped. */
    feed: t.procedure.subscription(async function* ({ signal }) {
      const queue: unknown[] = [];
      let wake: (() => void) | null = null;
      state.emit = (value) => {
        queue.push(value);
        wake?.();
      };
      signal?.addEventListener('abort', () => wake?.());
      while (!signal?.aborted) {
        if (queue.length > 0) yield queue.shift();
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    }),
    items: t.procedure.subscription(async function* () {
      yield 'one';
    }),
  });
  return { router, state };
}

describe('requests, not frames', () => {
  it('spends one token per request: one frame of many requests over the burst closes the socket with 1008', async () => {
    const { router } = fixture();
    const served = await serveLean(cleanups, { router, createContext: () => ({}), requestLimits: { perSecond: 1, burst: 10 } });
    const client = await openClient(cleanups, served.url);
    client.send(Array.from({ length: 11 }, (_, i) => ({ id: i, method: 'query', params: { path: 'echo', input: i } })));
    expect(await client.closed).toBe(WS_CLOSE.tooManyRequests);
    expect(client.answers.filter((answer) => answer.result)).toEqual([]); // none of them ran
  });

  it('answers a frame of up to maxPerFrame requests, and refuses a longer one whole with PAYLOAD_TOO_LARGE', async () => {
    const { router } = fixture();
    const served = await serveLean(cleanups, { router, createContext: () => ({}), requestLimits: { maxPerFrame: 5 } });
    const client = await openClient(cleanups, served.url);
    client.send(Array.from({ length: 5 }, (_, i) => ({ id: i, method: 'query', params: { path: 'echo', input: i } })));
    await waitFor(() => client.answers.length === 5, 'five answers');
    client.send(Array.from({ length: 6 }, (_, i) => ({ id: 10 + i, method: 'query', params: { path: 'echo', input: i } })));
    await waitFor(() => client.answers.length === 6, 'the refusal');
    expect(client.answers[5]).toMatchObject({ id: null, error: { message: 'At most 5 requests in one frame', data: { code: 'PAYLOAD_TOO_LARGE' } } });
    client.send({ id: 'after', method: 'query', params: { path: 'echo', input: 'still served' } });
    await waitFor(() => client.answers.some((answer) => answer.id === 'after'), 'the socket still served');
    expect(client.answers.filter((answer) => typeof answer.id === 'number' && answer.id >= 10)).toEqual([]);
  });

  it('runs at most maxInFlight requests at once, queues maxWaiting more, and refuses the rest on their own ids', async () => {
    const { router, state } = fixture();
    const served = await serveLean(cleanups, { router, createContext: () => ({}), requestLimits: { maxInFlight: 2, maxWaiting: 3 } });
    const client = await openClient(cleanups, served.url);
    client.send(Array.from({ length: 7 }, (_, i) => ({ id: i, method: 'query', params: { path: 'gated' } })));
    await waitFor(() => client.answers.length === 2, 'two refusals');
    expect(client.answers.map((answer) => [answer.id, answer.error?.data.code])).toEqual([
      [5, 'TOO_MANY_REQUESTS'],
      [6, 'TOO_MANY_REQUESTS'],
    ]);
    expect(state.started).toBe(2);
    for (let opened = 0; opened < 5; opened++) {
      await waitFor(() => state.gates.length > 0, 'a running request');
      state.gates.shift()!();
      await waitFor(() => client.answers.length === 3 + opened, 'its answer');
      expect(state.started).toBeLessThanOrEqual(opened + 3);
    }
    expect(client.answers.slice(2).map((answer) => answer.id)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a slot freed just before its socket closes is not handed to the next request in line', async () => {
    const slots = new RequestSlots({ maxInFlight: 1, maxWaiting: 2 });
    expect(slots.acquire()).toBe(true);
    const second = slots.acquire();
    const third = slots.acquire();
    slots.release(); // handed over in a later turn…
    slots.clear(); // …by which time the socket closed
    expect(await second).toBe(false);
    expect(await third).toBe(false);
  });

  it('runs a line of waiting requests over several turns of the event loop: a timer set by the first one fires before the line ends', async () => {
    const t = initTRPC.create();
    let ran = 0;
    let ranWhenTimerFired: number | null = null;
    // Synchronous work, as a SQLite read is: without a yield each request hands its slot to the
    // next one in promise jobs, and the whole line runs before any timer or other socket.
    const router = t.router({
      work: t.procedure.input(z.number()).query(({ input }) => {
        if (ran++ === 0) setTimeout(() => (ranWhenTimerFired = ran), 0);
        return input;
      }),
    });
    const served = await serveLean(cleanups, { router, createContext: () => ({}), requestLimits: { maxInFlight: 4, maxWaiting: 200 } });
    const client = await openClient(cleanups, served.url);
    client.send(Array.from({ length: 100 }, (_, i) => ({ id: i, method: 'query', params: { path: 'work', input: i } })));
    await waitFor(() => client.answers.length === 100, 'every answer');
    expect(client.answers.map((answer) => answer.result?.data)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(ranWhenTimerFired).not.toBeNull();
    expect(ranWhenTimerFired!).toBeLessThan(100);
  });
});

describe('bytes owed to a socket', () => {
  it('sheds ephemeral values while the client is behind, then closes with 4002 before owing more than maxBufferedBytes', async () => {
    const { router, state } = fixture();
    const limits = { maxBufferedBytes: 512 * 1024, shedEphemeralAboveBytes: 128 * 1024 };
    const served = await serveLean(cleanups, {
      router,
      createContext: () => ({}),
      outputLimits: limits,
      isEphemeral: (_path, value) => (value as { kind?: string }).kind === 'typing',
    });
    const client = await openClient(cleanups, served.url);
    client.send({ id: 1, method: 'subscription', params: { path: 'feed' } });
    await waitFor(() => client.answers.some((answer) => answer.result?.type === 'started') && state.emit !== null, 'started');
    const serverSocket = [...served.wss.clients][0]!;
    client.ws.pause(); // stops reading: the kernel buffers fill, then the server's

    const big = 'x'.repeat(16 * 1024);
    let sent = 0;
    const emitBig = async () => {
      state.emit!({ kind: 'message', n: sent++, big });
      await new Promise((resolve) => setImmediate(resolve));
    };
    while (serverSocket.bufferedAmount <= limits.shedEphemeralAboveBytes) await emitBig();
    const ownedBeforeTyping = serverSocket.bufferedAmount;
    for (let i = 0; i < 20; i++) state.emit!({ kind: 'typing', i });
    await new Promise((resolve) => setImmediate(resolve));
    expect(serverSocket.bufferedAmount).toBe(ownedBeforeTyping); // shed, not queued
    expect(serverSocket.readyState).toBe(serverSocket.OPEN);

    while (serverSocket.readyState === serverSocket.OPEN && sent < 10_000) await emitBig();
    expect(serverSocket.readyState).toBe(serverSocket.CLOSING);
    expect(serverSocket.bufferedAmount).toBeLessThanOrEqual(limits.maxBufferedBytes + 64);

    client.ws.resume();
    expect(await client.closed).toBe(WS_CLOSE.notReading);
    const values = client.answers.filter((answer) => answer.result?.type === 'data').map((answer) => answer.result!.data as { kind: string; n?: number });
    expect(values.some((value) => value.kind === 'typing')).toBe(false);
    // Every message value the client got is in order and without a hole, up to the close.
    expect(values.map((value) => value.n)).toEqual(Array.from({ length: values.length }, (_, i) => i));
    expect(values.length).toBeGreaterThan(0);
  });
});

describe('createContext failure', () => {
  it('answers every request pending on the socket with the error on its own id, besides the id-null error', async () => {
    const { router } = fixture();
    let fail!: () => void;
    const served = await serveLean(cleanups, {
      router,
      createContext: () =>
        new Promise((_resolve, reject) => {
          fail = () => reject(new TRPCError({ code: 'UNAUTHORIZED', message: 'who are you' }));
        }),
    });
    const client = await openClient(cleanups, served.url);
    let framesReceived = 0;
    await waitFor(() => served.wss.clients.size === 1, 'server side of the socket');
    [...served.wss.clients][0]!.on('message', () => framesReceived++);
    client.send([
      { id: 1, method: 'query', params: { path: 'echo', input: 1 } },
      { id: 2, method: 'subscription', params: { path: 'items' } },
    ]);
    await waitFor(() => framesReceived === 1, 'the requests reached the server');
    fail();
    await client.closed;
    const byId = new Map(client.answers.map((answer) => [answer.id, answer]));
    for (const id of [null, 1, 2]) {
      expect(byId.get(id)).toMatchObject({ error: { message: 'who are you', data: { code: 'UNAUTHORIZED' } } });
    }
    expect(client.answers.filter((answer) => answer.result)).toEqual([]);
  });
});
