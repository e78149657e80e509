import { createServer as createNodeServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { WebSocketServer, type WebSocket } from 'ws';
import { LIMITS } from '../../shared/limits.js';
import type { Readiness } from '../backends.js';
import type { AppDeps, Identity } from '../context.js';
import { anonymous, createContextInner } from '../context.js';
import { appRouter } from '../routers/index.js';
import { anonymousSocket, refuseHttp } from '../integration/refusals.js';
import { createRequestIdentity, type ResolveRequestIdentity } from '../integration/identity.js';
import { reportInternalError } from '../error-reporting.js';
import { RequestBudget } from './budget.js';
import { createOperationsHandler } from './operations.js';
import { isOriginAllowed } from './origin.js';
import { createSubscriptionGuard } from './subscription-guard.js';
import { createStaticHandler } from './static.js';
import { isEphemeralValue } from './ephemeral.js';
import { applyLeanWSHandler } from './ws-adapter.js';

export const API_PATH = '/trpc';
/** How long a closing server waits for its WebSockets to answer the close frame. */
const SHUTDOWN_SOCKET_GRACE_MS = 2_000;

export type HttpOptions = {
  /** Folder of the built web app to serve at `/`, or null for the API only. */
  staticDir: string | null;
  /** Who is calling (host identity or built-in sessions); built-in sessions when omitted. */
  identityOf?: ResolveRequestIdentity;
  /** Backends `/readyz` checks besides the database. */
  readiness?: Readiness;
};

/** One HTTP server: the API over HTTP and WebSocket at `/trpc`, the web app everywhere else. */
export function createHttpServer(deps: AppDeps, { staticDir, identityOf = createRequestIdentity(deps), readiness }: HttpOptions) {
  const { services, logger, config } = deps;
  const identities = new WeakMap<IncomingMessage, Identity>();
  const sessionExpiry = new WeakMap<IncomingMessage, number>();
  const clientIp = (req: IncomingMessage) => clientAddress(req, config.trustProxy);

  const onError = ({ error, path }: { error: { code: string; message: string; cause?: unknown }; path?: string }) => {
    // Logged under the request id the client receives (errorFormatter in trpc.ts).
    if (error.code === 'INTERNAL_SERVER_ERROR') reportInternalError(logger, error, path);
    else logger.debug({ code: error.code, path, message: error.message }, 'request refused');
  };

  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: `${API_PATH}/`,
    maxBodySize: LIMITS.wsMaxPayloadBytes,
    maxBatchSize: LIMITS.httpBatchMax,
    onError,
    async createContext({ req, res }) {
      const { identity } = await identityOf(req, 'http').catch(refuseHttp(logger));
      return createContextInner(deps, identity, {
        kind: 'http',
        ip: clientIp(req),
        cookies: { append: (header) => res.appendHeader('Set-Cookie', header) },
        budget: new RequestBudget(),
      });
    },
  });
  const staticHandler = staticDir ? createStaticHandler(staticDir, logger) : null;
  const refuseSubscription = createSubscriptionGuard(appRouter, `${API_PATH}/`);
  const handleOperations = createOperationsHandler(deps, readiness);

  const server: Server = createNodeServer({ maxHeaderSize: HEADER_LIMIT_BYTES }, (req, res) => {
    if (req.url === API_PATH || req.url?.startsWith(`${API_PATH}/`) || req.url?.startsWith(`${API_PATH}?`)) {
      if (refuseSubscription(req, res)) return;
      return void trpcHandler(req, res);
    }
    if (handleOperations(req, res)) return;
    if (staticHandler) return staticHandler(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  });
  server.on('clientError', answerClientError);

  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.wsMaxPayloadBytes });

  const refuse = (socket: Duplex, status: string) => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroySocket);
    const path = (req.url ?? '').split('?')[0];
    if (path !== API_PATH) return refuse(socket, '404 Not Found');
    if (!isOriginAllowed(req, config.allowedOrigins)) {
      logger.warn({ origin: req.headers.origin }, 'websocket upgrade refused: origin not allowed');
      return refuse(socket, '403 Forbidden');
    }
    // Resolve the session here, once per connection; the tRPC context only reads the result.
    identityOf(req, 'ws')
      .catch(anonymousSocket(logger))
      .then(({ identity, expiresAt }) => {
        if (socket.destroyed) return;
        identities.set(req, identity);
        if (expiresAt !== undefined) sessionExpiry.set(req, expiresAt);
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'websocket session lookup failed');
        refuse(socket, '500 Internal Server Error');
      });
  });

  const { connectionLimits: limits } = config;
  // The address, not the request: an open socket should not pin its headers.
  const socketIps = new WeakMap<WebSocket, string | null>();
  wss.on('connection', (ws, req: IncomingMessage) => {
    socketIps.set(ws, clientIp(req));
    ws.once('close', (code: number) => deps.metrics.socketCloses.inc({ code: String(code) }));
    const identity = identities.get(req);
    if (identity?.user && identity.sessionId) {
      const release = services.connections.add(identity.user.id, identity.sessionId, (reason) => ws.close(4001, reason), sessionExpiry.get(req));
      ws.once('close', release);
    }
  });

  // tRPC's WebSocket wire protocol (what wsLink speaks) with a leaner delivery path; see ws-adapter.ts.
  const handler = applyLeanWSHandler({
    wss,
    router: appRouter,
    keepAlive: { pingMs: config.timings.keepAlivePingMs, pongWaitMs: config.timings.keepAlivePongWaitMs },
    maxSubscriptions: limits.maxSubscriptions,
    // The config's `frames*` limits count requests since issue 17 (a frame may hold many).
    requestLimits: { perSecond: limits.framesPerSecond, burst: limits.framesBurst },
    outputLimits: { maxBufferedBytes: limits.maxBufferedBytes },
    isEphemeral: isEphemeralValue,
    onLimit: ({ limit, ws, bufferedBytes }) =>
      logger.warn({ ip: socketIps.get(ws) ?? null, bufferedBytes }, limit === 'requests' ? 'websocket closed: too many requests' : 'websocket closed: not reading'),
    onError,
    // Never throws: an anonymous socket gets UNAUTHORIZED per procedure instead of a reconnect loop.
    createContext: ({ req }) =>
      createContextInner(deps, identities.get(req) ?? anonymous, {
        kind: 'ws',
        ip: clientIp(req),
        cookies: null,
      }),
  });

  deps.metrics.sources.openSockets = () => wss.clients.size;
  deps.metrics.sources.subscriptionPaths = handler.subscriptionPaths;

  // Sockets outliving their session (it expired while they were open) are closed like at logout.
  const sessionWatch = setInterval(() => {
    const closed = services.connections.closeExpired(deps.clock.now());
    if (closed > 0) logger.info({ closed }, 'websockets closed: session expired');
  }, limits.sessionCheckMs);
  sessionWatch.unref();

  return {
    server,
    wss,
    async listen(port: number, host: string): Promise<AddressInfo> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },
    /** Tells clients to reconnect, closes every socket, and stops accepting connections. */
    async close(): Promise<void> {
      // Stop accepting first: clients told to reconnect must land on another instance.
      const stoppedListening = new Promise<void>((resolve) => server.close(() => resolve()));
      clearInterval(sessionWatch);
      handler.stop();
      handler.broadcastReconnectNotification();
      const socketsClosed = Promise.all([...wss.clients].map((client) => new Promise((resolve) => client.once('close', resolve))));
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      // A client that does not answer the close frame is cut after a short while, not ws's 30 s.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([socketsClosed, new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_SOCKET_GRACE_MS)))]);
      clearTimeout(timer);
      for (const client of wss.clients) client.terminate();
      server.closeIdleConnections();
      await stoppedListening;
    },
  };
}

/** Node's own limit (16 KiB), named: request line and headers together. */
const HEADER_LIMIT_BYTES = 16 * 1024;

/**
 * A request Node could not parse: a clear status instead of a reset connection. Oversized
 * headers (a URL over 16 KiB too) are 431, anything else 400.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex) {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) return void socket.destroy();
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * The client's address: the socket's peer, or behind a trusted proxy the last X-Forwarded-For
 * entry (the one our proxy wrote; earlier ones come from the client and prove nothing). Without
 * it, every client behind a load balancer shares the balancer's address and its rate limit.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string | null {
  const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined;
  const last = (Array.isArray(forwarded) ? forwarded.at(-1) : forwarded)?.split(',').at(-1)?.trim();
  return last || (req.socket.remoteAddress ?? null);
}

/**
 * A socket's error listener for its whole life: module-level, so it does not keep the upgrade
 * request and its buffers alive through a closure.
 */
function destroySocket(this: Duplex) {
  this.destroy();
}
