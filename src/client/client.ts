import { createWSClient, httpBatchLink, splitLink, wsLink, type TRPCWebSocketClient } from '@trpc/client';
import { LIMITS, TIMINGS } from '../shared/limits.js';
import { withCloseTimeout } from './logic/websocket-watchdog.js';
import { trpc } from './trpc.js';

export type RealtimeClientOptions = {
  /** API base, absolute or relative to the page (default `/trpc`). */
  url?: string;
  /** Open the WebSocket at once (signed in) or only when a subscription needs it. */
  connectNow?: boolean;
  onOpen?: () => void;
  onClose?: (cause?: { code?: number }) => void;
  /** Called with each reconnect attempt index, before waiting. */
  onRetry?: (attemptIndex: number) => void;
  keepAlive?: KeepAliveOptions;
};

/**
 * Client keepalive: a ping after `intervalMs` without traffic; no pong within `pongTimeoutMs`
 * closes the socket, which starts the reconnect. This is what notices a socket that died
 * silently (laptop asleep, network gone without a FIN). Shorter values suit tests.
 */
export type KeepAliveOptions = { intervalMs: number; pongTimeoutMs: number };

export const DEFAULT_KEEPALIVE: KeepAliveOptions = { intervalMs: TIMINGS.keepAlivePingMs / 2, pongTimeoutMs: TIMINGS.keepAlivePongWaitMs };

/** Reconnect delay: quick first retry, then doubling up to 10 s, with jitter so clients spread out. */
export function reconnectDelayMs(attemptIndex: number, random: () => number = Math.random): number {
  const base = attemptIndex === 0 ? 250 : Math.min(500 * 2 ** attemptIndex, 10_000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** `/trpc` → `ws(s)://<page host>/trpc`, so the socket shares the page's origin and cookie. */
export function webSocketUrl(url: string, page?: { protocol: string; host: string }): string {
  if (/^wss?:\/\//.test(url)) return url;
  if (/^https?:\/\//.test(url)) return url.replace(/^http/, 'ws');
  const location = page ?? window.location;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${url}`;
}

/**
 * Builds the WebSocket client and the tRPC client: subscriptions over the socket (keepAlive on,
 * reconnect with backoff), everything else over batched HTTP with cookies.
 */
export function createRealtimeClient(options: RealtimeClientOptions = {}): RealtimeClient {
  const url = options.url ?? '/trpc';
  const keepAlive = options.keepAlive ?? DEFAULT_KEEPALIVE;
  const wsClient: TRPCWebSocketClient = createWSClient({
    url: () => webSocketUrl(url),
    // A socket the keepalive gave up on must close now, not when the browser's handshake times out.
    WebSocket: typeof WebSocket === 'undefined' ? undefined : withCloseTimeout(WebSocket, Math.max(1_000, keepAlive.pongTimeoutMs)),
    // Lazy while signed out: no anonymous socket; a signed-in client connects at once.
    lazy: { enabled: !options.connectNow, closeMs: 0 },
    keepAlive: { enabled: true, ...keepAlive },
    retryDelayMs: (attemptIndex) => {
      options.onRetry?.(attemptIndex);
      return reconnectDelayMs(attemptIndex);
    },
    onOpen: options.onOpen,
    onClose: options.onClose,
  });
  const trpcClient = trpc.createClient({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient }),
        false: httpBatchLink({
          url,
          // The server's bounds: at most LIMITS.httpBatchMax calls per batch (more is a 400 for the
          // whole batch) and 16 KiB of request line (more is a 431); longer batches are split.
          maxItems: LIMITS.httpBatchMax,
          maxURLLength: 8_000,
          fetch: (input, init) => fetch(input, { ...init, credentials: 'include' }),
        }),
      }),
    ],
  });
  return { wsClient, trpcClient };
}

// Spelled out: the library's .d.ts cannot name the inferred type (tRPC's internal WsClient class).
export type RealtimeClient = { wsClient: TRPCWebSocketClient; trpcClient: ReturnType<typeof trpc.createClient> };
