import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { LIMITS } from '../../shared/limits.js';
import { appRouter } from '../routers/index.js';
import { createChatContext, type ChatApp } from './mount.js';

/**
 * The chat's HTTP endpoint for a bare `http.Server`, through tRPC's own Node adapter: route the
 * requests under `basePath` to it. (Express: `createExpressMiddleware`; Fastify: `fastifyTRPCPlugin`;
 * both with `createContext: ({ req, res }) => createChatContext(app, { req, res })`.)
 */
export function createChatHttpHandler(app: ChatApp, { basePath = '/trpc/' }: { basePath?: string } = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger } = app.deps;
  return createHTTPHandler({
    router: appRouter,
    basePath,
    maxBodySize: LIMITS.wsMaxPayloadBytes,
    createContext: ({ req, res }) => createChatContext(app, { req, res }),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'procedure failed');
    },
  });
}
