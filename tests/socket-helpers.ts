import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import WebSocket from 'ws';
import type { AppRouter } from '../src/shared/index.js';
import { createServer } from '../src/server/server.js';
import type { Config } from '../src/server/config.js';
import { RELAXED_LIMITS, SERVICE_TOKEN } from './helpers.js';
import { freshStoreConfig } from './store.js';

export const PASSWORD = 'correct horse battery';

/** The real server on an ephemeral port with a fresh database (tests/store.ts). */
export async function startServer(config: Partial<Config> = {}) {
  const app = await createServer({
    config: { ...freshStoreConfig(), logLevel: 'silent', serviceToken: SERVICE_TOKEN, seedDemo: false, ...config },
    rateLimits: RELAXED_LIMITS,
  });
  const { port } = await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  return { app, base, wsUrl: `ws://127.0.0.1:${port}/trpc`, port };
}

export type TestServer = Awaited<ReturnType<typeof startServer>>;

/** Registers over HTTP and returns the user and the session cookie the server set. */
export async function signUp(base: string, username: string) {
  const response = await fetch(`${base}/trpc/auth.register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (!response.ok) throw new Error(`register failed: ${response.status} ${await response.text()}`);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  const body = (await response.json()) as { result: { data: { id: number; username: string } } };
  return { ...body.result.data, cookie, setCookie };
}

/**
 * A real tRPC client as an app would build it: subscriptions over wsLink (carrying the cookie
 * on the upgrade, as a browser does), the rest over HTTP. `sockets` lets a test cut the line.
 */
export function connect(server: TestServer, cookie: string | null, options: { origin?: string } = {}) {
  const sockets: WebSocket[] = [];
  const headers: Record<string, string> = {};
  if (cookie) headers.cookie = cookie;
  if (options.origin) headers.origin = options.origin;
  class CookieWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers });
      sockets.push(this);
    }
  }
  const opened: Array<() => void> = [];
  const wsClient = createWSClient({
    url: server.wsUrl,
    WebSocket: CookieWebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 50,
    keepAlive: { enabled: true, intervalMs: 5_000, pongTimeoutMs: 2_000 },
    onOpen: () => opened.splice(0).forEach((resolve) => resolve()),
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient }),
        false: httpBatchLink({ url: `${server.base}/trpc`, headers: () => headers }),
      }),
    ],
  });
  return {
    client,
    sockets,
    wsClient,
    /** Resolves at the next successful (re)connection. */
    nextOpen: () => new Promise<void>((resolve) => opened.push(resolve)),
    /** Kills the current socket without a close handshake, as a network drop would. */
    cut() {
      sockets.at(-1)?.terminate();
    },
    close: () => wsClient.close(),
  };
}

export async function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A bare WebSocket (no tRPC client), for abuse tests. */
export function rawSocket(server: TestServer, headers: Record<string, string> = {}) {
  const ws = new WebSocket(server.wsUrl, { headers });
  const received: string[] = [];
  ws.on('message', (data) => received.push(data.toString()));
  const closed = new Promise<{ code: number }>((resolve) => ws.on('close', (code) => resolve({ code })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return { ws, received, closed, opened };
}
