/**
 * The chat's WebSocket on the host's own HTTP server (a bare `http.Server`, Express's
 * `app.listen()` result, Fastify's `fastify.server`), at a path the host chooses. Upgrades to
 * other paths are left alone for the host's other listeners.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AnyTRPCRouter, inferRouterContext } from '@trpc/server';
import type { WebSocketServer } from 'ws';
import type { Context } from '../context.js';
import { serveSocketEndpoint } from '../http/socket-endpoint.js';
import { appRouter } from '../routers/index.js';
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

/**
 * Serves tRPC's WebSocket protocol (what `wsLink` speaks) at `path` on the host's server, with
 * everything the built-in server's socket gets (`http/socket-endpoint.ts`).
 */
export function attachWebSocket<TRouter extends AnyTRPCRouter = typeof appRouter>(
  app: ChatApp,
  server: Server,
  options: AttachOptions<TRouter> = {},
): AttachedSocket {
  return serveSocketEndpoint(app.deps, server, {
    path: options.path ?? '/trpc',
    router: (options.router ?? appRouter) as TRouter,
    identityOf: app.identityOf,
    otherPaths: 'ignore',
    createContext: ({ req, identity }) => {
      const chat = chatContextForSocket(app, identity, req);
      return (options.createContext ? options.createContext({ req, chat }) : chat) as inferRouterContext<TRouter>;
    },
  });
}
