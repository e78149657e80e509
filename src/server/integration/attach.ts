/**
 * The chat's WebSocket on the host's own HTTP server (a bare `http.Server`, Express's
 * `app.listen()` result, Fastify's `fastify.server`), at a path the host chooses. Upgrades to
 * other paths are left alone for the host's other listeners.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AnyTRPCRouter, inferRouterContext } from '@trpc/server';
import { WebSocketServer, type WebSocket } from 'ws';
import { LIMITS } from '../../shared/limits.js';
import { anonymous, type Context, type Identity } from '../context.js';
import { isEphemeralValue } from '../http/ephemeral.js';
import { isOriginAllowed } from '../http/origin.js';
import { applyLeanWSHandler } from '../http/ws-adapter.js';
import { appRouter } from '../routers/index.js';
import { anonymousSocket } from './refusals.js';
import { chatContextForSocket, type ChatApp } from './mount.js';

export type AttachOptions<TRouter extends AnyTRPCRouter> = {
  /** The upgrade path, e.g. `/trpc` or `/chat/socket` (default `/trpc`). */
  path?: string;
  /** The router the socket serves: the host's, with the chat mounted in it (default: the chat's own). */
  router?: TRouter;
  /**
   * The socket's context, once per connection, from the chat context resolved at the upgrade.
   * With a host router: `({ req, chat }) => ({ ...hostContextFrom(req), chat })`.
   */
  createContext?: (opts: { req: IncomingMessage; chat: Context }) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;
};

export type AttachedSocket = {
  wss: WebSocketServer;
  /** Closes the chat's sockets and stops listening for upgrades (call before `app.close()`). */
  close(): Promise<void>;
};

/** Serves tRPC's WebSocket protocol (what `wsLink` speaks) at `path` on the host's server. */
export function attachWebSocket<TRouter extends AnyTRPCRouter = typeof appRouter>(
  app: ChatApp,
  server: Server,
  options: AttachOptions<TRouter> = {},
): AttachedSocket {
  const { deps } = app;
  const { logger, services, config } = deps;
  const { connectionLimits: limits } = config;
  const path = options.path ?? '/trpc';
  const identities = new WeakMap<IncomingMessage, { identity: Identity; expiresAt?: number }>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.wsMaxPayloadBytes });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').split('?')[0] !== path) return; // another listener's path
    socket.on('error', destroySocket);
    if (!isOriginAllowed(req, config.allowedOrigins)) {
      logger.warn({ origin: req.headers.origin }, 'websocket upgrade refused: origin not allowed');
      return void socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
    app
      .identityOf(req, 'ws')
      .catch(anonymousSocket(logger))
      .then((resolved) => {
        if (socket.destroyed) return;
        identities.set(req, resolved);
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'websocket identity lookup failed');
        socket.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      });
  };
  server.on('upgrade', onUpgrade);

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const resolved = identities.get(req);
    if (resolved?.identity.user && resolved.identity.sessionId) {
      const release = services.connections.add(resolved.identity.user.id, resolved.identity.sessionId, (reason) => ws.close(4001, reason), resolved.expiresAt);
      ws.once('close', release);
    }
  });

  // The same per-socket bounds as the built-in server (http/server.ts), enforced by the adapter.
  const handler = applyLeanWSHandler({
    wss,
    router: (options.router ?? appRouter) as TRouter,
    keepAlive: { pingMs: config.timings.keepAlivePingMs, pongWaitMs: config.timings.keepAlivePongWaitMs },
    maxSubscriptions: limits.maxSubscriptions,
    requestLimits: { perSecond: limits.framesPerSecond, burst: limits.framesBurst },
    outputLimits: { maxBufferedBytes: limits.maxBufferedBytes },
    isEphemeral: isEphemeralValue,
    onLimit: ({ limit, bufferedBytes }) => logger.warn({ bufferedBytes }, limit === 'requests' ? 'websocket closed: too many requests' : 'websocket closed: not reading'),
    onError: ({ error, path: procedure }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path: procedure }, 'procedure failed');
    },
    createContext: ({ req }) => {
      const chat = chatContextForSocket(app, identities.get(req)?.identity ?? anonymous, req);
      return (options.createContext ? options.createContext({ req, chat }) : chat) as inferRouterContext<TRouter>;
    },
  });

  return {
    wss,
    async close() {
      server.off('upgrade', onUpgrade);
      handler.stop();
      handler.broadcastReconnectNotification();
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      // A client that does not answer the close handshake within a second is cut off.
      const grace = setTimeout(() => wss.clients.forEach((client) => client.terminate()), 1_000);
      await closed;
      clearTimeout(grace);
    },
  };
}

/** A socket's error listener for its whole life: module-level, so it keeps no upgrade request alive. */
function destroySocket(this: Duplex) {
  this.destroy();
}
