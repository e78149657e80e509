import { createServer as createNodeServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { LIMITS } from '../../shared/limits.js';
import type { Readiness } from '../backends.js';
import type { AppDeps } from '../context.js';
import { createContextInner } from '../context.js';
import { appRouter } from '../routers/index.js';
import { refuseHttp } from '../integration/refusals.js';
import { createRequestIdentity, type ResolveRequestIdentity } from '../integration/identity.js';
import { requestErrorLogger } from '../error-reporting.js';
import { settlesWithin } from '../settles-within.js';
import { RequestBudget } from './budget.js';
import { clientAddress } from './client-address.js';
import { createOperationsHandler } from './operations.js';
import { createSubscriptionGuard } from './subscription-guard.js';
import { serveSocketEndpoint } from './socket-endpoint.js';
import { createStaticHandler } from './static.js';

export { clientAddress } from './client-address.js';

export const API_PATH = '/trpc';

export type HttpOptions = {
  /** Folder of the built web app to serve at `/`, or null for the API only. */
  staticDir: string | null;
  /** Who is calling (host identity or built-in sessions); built-in sessions when omitted. */
  identityOf?: ResolveRequestIdentity;
  /** Backends `/readyz` checks besides the database. */
  readiness?: Readiness;
};

/**
 * One HTTP server: the API over HTTP at `/trpc` and its WebSocket at the same path
 * (`socket-endpoint.ts`), the operations endpoints, and the web app everywhere else.
 */
export function createHttpServer(deps: AppDeps, { staticDir, identityOf = createRequestIdentity(deps), readiness }: HttpOptions) {
  const { logger, config } = deps;
  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: `${API_PATH}/`,
    maxBodySize: LIMITS.wsMaxPayloadBytes,
    maxBatchSize: LIMITS.httpBatchMax,
    onError: requestErrorLogger(logger),
    async createContext({ req, res }) {
      const { identity } = await identityOf(req, 'http').catch(refuseHttp(logger));
      return createContextInner(deps, identity, {
        kind: 'http',
        ip: clientAddress(req, config.trustProxy),
        cookies: { append: (header) => res.appendHeader('Set-Cookie', header) },
        budget: new RequestBudget(),
      });
    },
  });
  const staticHandler = staticDir ? createStaticHandler(staticDir, logger) : null;
  const refuseSubscription = createSubscriptionGuard(appRouter, `${API_PATH}/`);
  const handleOperations = createOperationsHandler(deps, readiness);

  const server: Server = createNodeServer({ maxHeaderSize: HEADER_LIMIT_BYTES }, (req, res) => {
    drain.track(res);
    if (req.url === API_PATH || req.url?.startsWith(`${API_PATH}/`) || req.url?.startsWith(`${API_PATH}?`)) {
      if (refuseSubscription(req, res)) return;
      return void trpcHandler(req, res);
    }
    if (handleOperations(req, res)) return;
    if (staticHandler) return staticHandler(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  });
  server.on('clientError', answerClientError);
  const drain = keepAliveDrain(server);

  const socketEndpoint = serveSocketEndpoint(deps, server, {
    path: API_PATH,
    router: appRouter,
    identityOf,
    otherPaths: 'refuse',
    createContext: ({ identity, ip }) => createContextInner(deps, identity, { kind: 'ws', ip, cookies: null }),
  });

  return {
    server,
    wss: socketEndpoint.wss,
    async listen(port: number, host: string): Promise<AddressInfo> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },
    /** Tells clients to reconnect, closes every socket, and stops accepting connections. */
    async close(): Promise<void> {
      // Stop accepting first: clients told to reconnect must land on another instance.
      const httpClosed = drain.close();
      await socketEndpoint.close();
      await httpClosed;
    },
  };
}

/** How long requests already in progress at shutdown may take before their connections are cut. */
const SHUTDOWN_REQUEST_GRACE_MS = 10_000;

/**
 * Shutdown of the HTTP side. Node's `close()` stops accepting and cuts the connections idle at
 * that moment, but a keep-alive connection busy then stays open and carries request after request
 * (a load balancer's, above all), so the server never closes. Every response from then on, and
 * every one still in progress, says `Connection: close`; connections are cut after a grace.
 */
function keepAliveDrain(server: Server) {
  const inProgress = new Set<ServerResponse>();
  let closing = false;
  const endAfter = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
    // Headers already sent with keep-alive: the connection goes once this response is done.
    else res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
  };
  return {
    /** Called on every request before it is handled. */
    track(res: ServerResponse) {
      if (closing) return endAfter(res);
      inProgress.add(res);
      res.once('close', () => inProgress.delete(res));
    },
    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of inProgress) endAfter(res);
      inProgress.clear();
      await settlesWithin(stopped, SHUTDOWN_REQUEST_GRACE_MS);
      server.closeAllConnections();
      await stopped;
    },
  };
}

/**
 * Connections the kernel may hold for us before we accept them (it caps this at
 * net.core.somaxconn, 4096 on current Linux). Node's default of 511 is less than a reconnect
 * storm brings at once: the SYNs beyond it are dropped and retried by the clients 1, 3, 7, 15 s
 * later, which made a storm of 10,000 take a minute (BENCHMARKS.md, seventh round).
 */
const LISTEN_BACKLOG = 4096;

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
