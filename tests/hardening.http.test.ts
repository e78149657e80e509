import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../src/shared/limits.js';
import { rawSocket, signUp, startServer, waitFor, type TestServer } from './socket-helpers.js';

let server: TestServer;
afterEach(async () => {
  await server.app.close();
});

type ErrorBody = { error: { message: string; data: { code: string; httpStatus: number; requestId: string | null; stack?: string } } };

const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));

/** A direct conversation between two new users, with some messages in it. */
async function conversationWithMessages(count: number) {
  const alice = await signUp(server.base, 'alice');
  const bob = await signUp(server.base, 'bob');
  const post = (path: string, body: unknown) =>
    fetch(`${server.base}/trpc/${path}`, { method: 'POST', headers: { cookie: alice.cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const opened = (await (await post('conversation.openDirect', { userId: bob.id })).json()) as { result: { data: { id: number } } };
  const conversationId = opened.result.data.id;
  for (let i = 0; i < count; i++) await post('message.send', { conversationId, content: 'x'.repeat(1000), clientMessageId: `m${i}` });
  return { alice, bob, conversationId, post };
}

describe('HTTP bounds', () => {
  it(`refuses a batch of more than ${LIMITS.httpBatchMax} calls with a 400`, async () => {
    server = await startServer();
    const paths = Array.from({ length: LIMITS.httpBatchMax + 1 }, () => 'auth.me').join(',');
    const response = await fetch(`${server.base}/trpc/${paths}?batch=1`);
    expect(response.status).toBe(400);
    const ok = await fetch(`${server.base}/trpc/${Array.from({ length: LIMITS.httpBatchMax }, () => 'auth.me').join(',')}?batch=1`);
    expect(ok.status).toBe(200);
  });

  it('bounds the rows one GET ?batch=1 returns: history calls past the budget are refused, the response stays small', async () => {
    server = await startServer();
    const { alice, conversationId } = await conversationWithMessages(120);
    const calls = LIMITS.httpBatchMax;
    const query = Object.fromEntries(Array.from({ length: calls }, (_, i) => [i, { conversationId, limit: LIMITS.historyPageMax }]));
    const response = await fetch(`${server.base}/trpc/${Array(calls).fill('conversation.history').join(',')}?batch=1&input=${input(query)}`, {
      headers: { cookie: alice.cookie },
    });
    const text = await response.text();
    const results = JSON.parse(text) as Array<{ result?: { data: { messages: unknown[] } }; error?: ErrorBody['error'] }>;
    const served = results.filter((r) => r.result).length;
    expect(served).toBe(Math.floor(LIMITS.httpRowsPerRequest / LIMITS.historyPageMax));
    expect(results.filter((r) => r.error?.data.code === 'BAD_REQUEST')).toHaveLength(calls - served);
    // 5 pages of 100 messages of ~1 KB: the response is bounded by the budget, not by the batch.
    expect(text.length).toBeLessThan(LIMITS.httpRowsPerRequest * 1_200);
  });

  it('answers 431 to a URL over 16 KiB instead of resetting the connection', async () => {
    server = await startServer();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.base}/trpc/auth.me?input=${'a'.repeat(17 * 1024)}`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
  });
});

describe('subscriptions are WebSocket-only', () => {
  it('a GET of a subscription with a valid cookie gets a typed 405 error and no event stream', async () => {
    server = await startServer();
    const alice = await signUp(server.base, 'alice');
    for (const path of ['inbox.events', 'notification.stream', 'presence.watch']) {
      const response = await fetch(`${server.base}/trpc/${path}`, { headers: { cookie: alice.cookie, accept: 'text/event-stream' } });
      expect(response.status).toBe(405);
      expect(response.headers.get('content-type')).toBe('application/json');
      const body = (await response.json()) as ErrorBody;
      expect(body.error.data).toMatchObject({ code: 'METHOD_NOT_SUPPORTED', path });
    }
    const batched = await fetch(`${server.base}/trpc/auth.me,inbox.events?batch=1`, { headers: { cookie: alice.cookie } });
    expect(batched.status).toBe(405);
  });
});

describe('errors carry nothing internal', () => {
  it('NUL and lone surrogates are BAD_REQUEST at validation, naming the rule', async () => {
    server = await startServer();
    const { post, conversationId } = await conversationWithMessages(0);
    for (const content of ['a\u0000b', 'x\ud800y', '\udc00']) {
      const response = await post('message.send', { conversationId, content, clientMessageId: 'nul' });
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.message).toContain('unpaired UTF-16 surrogates');
      expect(body.error.message).not.toMatch(/insert|select|sqlite/i);
    }
  });

  it('an internal failure answers a generic message and a request id, never SQL or a stack; /readyz turns 503', async () => {
    server = await startServer();
    const alice = await signUp(server.base, 'alice');
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
    await server.app.deps.orm.close();
    const response = await fetch(`${server.base}/trpc/user.search?input=${input({ query: 'bo' })}`, { headers: { cookie: alice.cookie } });
    expect(response.status).toBe(500);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.message).toBe('Internal server error');
    expect(body.error.data.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error.data.stack).toBeUndefined();
    expect(JSON.stringify(body)).not.toMatch(/select|from|users|at /i);
    const ready = await fetch(`${server.base}/readyz`);
    expect(ready.status).toBe(503);
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
    await server.app.deps.orm.reconnect();
  });
});

describe('operations endpoints', () => {
  it('/healthz, /readyz and /metrics in Prometheus format with the realtime metrics', async () => {
    server = await startServer();
    const { conversationId, post } = await conversationWithMessages(2);
    expect(await (await fetch(`${server.base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.base}/readyz`)).json()).toEqual({ status: 'ready', database: true });
    await post('message.send', { conversationId, content: 'hello', clientMessageId: 'm1' }); // a retry: not committed again
    const response = await fetch(`${server.base}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^realtime_messages_committed_total 2$/m);
    expect(text).toMatch(/^realtime_send_seconds_count 3$/m);
    expect(text).toMatch(/^realtime_commit_batch_size_count \d+$/m);
    expect(text).toMatch(/^realtime_open_sockets 0$/m);
    for (const name of ['realtime_subscriptions', 'realtime_deliveries_total', 'realtime_rate_limited_total', 'realtime_socket_closes_total', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });
});

describe('metrics follow sockets and subscriptions', () => {
  it('counts open sockets, subscriptions by procedure, closes by code and deliveries', async () => {
    server = await startServer();
    const { alice, conversationId, post } = await conversationWithMessages(0);
    const socket = rawSocket(server, { cookie: alice.cookie });
    await socket.opened;
    socket.ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'conversation.events', input: { conversationId } } }));
    await waitFor(() => socket.received.some((frame) => frame.includes('"started"')), 5_000, 'the subscription to start');
    await post('message.send', { conversationId, content: 'counted', clientMessageId: 'metrics-1' });
    await waitFor(() => socket.received.some((frame) => frame.includes('counted')), 5_000, 'the delivery');
    const during = await (await fetch(`${server.base}/metrics`)).text();
    expect(during).toMatch(/^realtime_open_sockets 1$/m);
    expect(during).toMatch(/^realtime_subscriptions\{procedure="conversation.events"\} 1$/m);
    expect(Number(/^realtime_deliveries_total (\d+)$/m.exec(during)?.[1])).toBeGreaterThanOrEqual(1);
    socket.ws.close(1000);
    await socket.closed;
    await waitFor(async () => /^realtime_socket_closes_total\{code="1000"\} 1$/m.test(await (await fetch(`${server.base}/metrics`)).text()), 5_000, 'the close to be counted');
  });
});

describe('logout and expiry end every stream of the session, on every transport', () => {
  it('after logout: the socket closes with 4001; HTTP never had a stream (405) and the old cookie is UNAUTHORIZED', async () => {
    server = await startServer();
    const alice = await signUp(server.base, 'alice');
    const socket = rawSocket(server, { cookie: alice.cookie });
    await socket.opened;
    socket.ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'inbox.events', input: {} } }));
    await waitFor(() => socket.received.length > 0, 5_000, 'the subscription to start');
    expect((await fetch(`${server.base}/trpc/inbox.events`, { headers: { cookie: alice.cookie } })).status).toBe(405);
    // As httpBatchLink sends a call without input.
    const logout = await fetch(`${server.base}/trpc/auth.logout?batch=1`, { method: 'POST', headers: { cookie: alice.cookie, 'content-type': 'application/json' }, body: '{}' });
    expect(logout.status).toBe(200);
    expect((await socket.closed).code).toBe(4001);
    expect((await fetch(`${server.base}/trpc/inbox.events`, { headers: { cookie: alice.cookie } })).status).toBe(405);
    const me = await fetch(`${server.base}/trpc/conversation.list`, { headers: { cookie: alice.cookie } });
    expect(me.status).toBe(401);
  });
});
