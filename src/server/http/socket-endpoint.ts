/**
 * The API's WebSocket endpoint on an HTTP server: our own (`http/server.ts`) or a host app's
 * (`integration/attach.ts`). One place for what every socket gets, whoever owns the server:
 * the origin check, the identity resolved once at the upgrade, the session's sockets registered
 * (closed with 4001 at logout and expiry), the per-socket bounds, metrics and a clean shutdown.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AnyTRPCRouter, inferRouterContext } from '@trpc/server';
import { WebSocketServer, type WebSocket } from 'ws';
import { LIMITS } from '../../shared/limits.js';
import { anonymous, type AppDeps, type Identity } from '../context.js';
import { requestErrorLogger } from '../error-reporting.js';
import { anonymousSocket } from '../integration/refusals.js';
import type { RequestIdentity, ResolveRequestIdentity } from '../integration/identity.js';
import { isEphemeralValue } from './ephemeral.js';
import { isOriginAllowed } from './origin.js';
import { clientAddress } from './client-address.js';
import { applyLeanWSHandler } from './ws-adapter.js';
import { settlesWithin } from '../settles-within.js';

/** How long a closing endpoint waits for its sockets to answer the close frame. */
const SHUTDOWN_SOCKET_GRACE_MS = 2_000;

export type SocketEndpointOptions<TRouter extends AnyTRPCRouter> = {
  path: string;
  router: TRouter;
  identityOf: ResolveRequestIdentity;
  /** Upgrades to another path: refused with 404 (the server is ours) or left to the host's other listeners. */
  otherPaths: 'refuse' | 'ignore';
  /** The context of one socket, made once when it opens. */
  createContext(opts: { req: IncomingMessage; identity: Identity; ip: string | null }): inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;
};

export type SocketEndpoint = {
  wss: WebSocketServer;
  /** Tells clients to reconnect (elsewhere), closes every socket and stops taking upgrades. */
  close(): Promise<void>;
};

export function serveSocketEndpoint<TRouter extends AnyTRPCRouter>(deps: AppDeps, server: Server, options: SocketEndpointOptions<TRouter>): SocketEndpoint {
  const { services, logger, config, metrics } = deps;
  const { connectionLimits: limits } = config;
  const resolved = new WeakMap<IncomingMessage, RequestIdentity>();
  // The address, not the request: an open socket should not pin its headers.
  const socketIps = new WeakMap<WebSocket, string | null>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.wsMaxPayloadBytes });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ours = (req.url ?? '').split('?')[0] === options.path;
    if (!ours && options.otherPaths === 'ignore') return;
    socket.on('error', destroySocket);
    if (!ours) return refuse(socket, '404 Not Found');
    if (!isOriginAllowed(req, config.allowedOrigins)) {
      logger.warn({ origin: req.headers.origin }, 'websocket upgrade refused: origin not allowed');
      return refuse(socket, '403 Forbidden');
    }
    // Resolve the session here, once per connection; the socket's context only reads the result.
    options
      .identityOf(req, 'ws')
      .catch(anonymousSocket(logger))
      .then((identity) => {
        if (socket.destroyed) return;
        resolved.set(req, identity);
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'websocket identity lookup failed');
        refuse(socket, '500 Internal Server Error');
      });
  };
  server.on('upgrade', onUpgrade);

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    socketIps.set(ws, clientAddress(req, config.trustProxy));
    ws.once('close', (code: number) => metrics.socketCloses.inc({ code: String(code) }));
    const { identity, expiresAt } = resolved.get(req) ?? { identity: anonymous };
    if (identity.user && identity.sessionId) {
      const release = services.connections.add(identity.user.id, identity.sessionId, (reason) => ws.close(4001, reason), expiresAt);
      ws.once('close', release);
    }
  });

  // tRPC's WebSocket wire protocol (what wsLink speaks) with a leaner delivery path; see ws-adapter.ts.
  const handler = applyLeanWSHandler({
    wss,
    router: options.router,
    keepAlive: { pingMs: config.timings.keepAlivePingMs, pongWaitMs: config.timings.keepAlivePongWaitMs },
    maxSubscriptions: limits.maxSubscriptions,
    // The config's `frames*` limits count requests since issue 17 (a frame may hold many).
    requestLimits: { perSecond: limits.framesPerSecond, burst: limits.framesBurst },
    outputLimits: { maxBufferedBytes: limits.maxBufferedBytes },
    isEphemeral: isEphemeralValue,
    onLimit: ({ limit, ws, bufferedBytes }) =>
      logger.warn({ ip: socketIps.get(ws) ?? null, bufferedBytes }, limit === 'requests' ? 'websocket closed: too many requests' : 'websocket closed: not reading'),
    onError: requestErrorLogger(logger),
    // Never throws for a refused identity: an anonymous socket gets UNAUTHORIZED per procedure
    // instead of a reconnect loop.
    // The address was read once, when the socket connected (the listener above runs first).
    createContext: ({ req, ws }) =>
      options.createContext({ req, identity: resolved.get(req)?.identity ?? anonymous, ip: socketIps.get(ws) ?? clientAddress(req, config.trustProxy) }),
  });

  metrics.sources.openSockets = () => wss.clients.size;
  metrics.sources.subscriptionPaths = handler.subscriptionPaths;

  // Sockets outliving their session (it expired while they were open) are closed like at logout.
  const sessionWatch = setInterval(() => {
    const closed = services.connections.closeExpired(deps.clock.now());
    if (closed > 0) logger.info({ closed }, 'websockets closed: session expired');
  }, limits.sessionCheckMs);
  sessionWatch.unref();

  return {
    wss,
    async close() {
      server.off('upgrade', onUpgrade);
      clearInterval(sessionWatch);
      handler.stop();
      handler.broadcastReconnectNotification();
      await closeSockets(wss);
    },
  };
}

/** Closes every socket with 1001 and waits for them, cutting those that do not answer in time. */
async function closeSockets(wss: WebSocketServer) {
  const socketsClosed = Promise.all([...wss.clients].map((client) => new Promise((resolve) => client.once('close', resolve))));
  for (const client of wss.clients) client.close(1001, 'server shutting down');
  // ws calls back once its last client is gone, so the wait is the race below, not this callback.
  const serverClosed = new Promise<void>((resolve) => wss.close(() => resolve()));
  // A client that does not answer the close frame is cut after a short while, not ws's 30 s.
  await settlesWithin(socketsClosed, SHUTDOWN_SOCKET_GRACE_MS);
  for (const client of wss.clients) client.terminate();
  await serverClosed;
}

function refuse(socket: Duplex, status: string) {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * A socket's error listener for its whole life: module-level, so it does not keep the upgrade
 * request and its buffers alive through a closure.
 */
function destroySocket(this: Duplex) {
  this.destroy();
}
