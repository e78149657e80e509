import { TRPCError } from '@trpc/server';
import { anonymous } from '../context.js';
import type { Logger } from '../logger.js';
import { IdentityRefused, type RequestIdentity } from './identity.js';

/**
 * A failed identity resolver over HTTP: the request gets UNAUTHORIZED, the reason goes to the log
 * only (it may name the host's internals). Anything else keeps its own error.
 */
export const refuseHttp =
  (logger: Logger) =>
  (error: unknown): never => {
    if (!(error instanceof IdentityRefused)) throw error;
    logger.warn({ reason: error.reason, transport: 'http' }, 'request refused: identity not verified');
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Your identity could not be verified' });
  };

/**
 * A failed identity resolver at the WebSocket upgrade: the socket opens anonymous, so every
 * procedure on it answers UNAUTHORIZED (a refused upgrade would only make wsLink retry forever).
 */
export const anonymousSocket =
  (logger: Logger) =>
  (error: unknown): RequestIdentity => {
    if (!(error instanceof IdentityRefused)) throw error;
    logger.warn({ reason: error.reason, transport: 'ws' }, 'websocket anonymous: identity not verified');
    return { identity: anonymous };
  };
