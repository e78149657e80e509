import { randomUUID } from 'node:crypto';
import type { Logger } from './logger.js';

/**
 * Internal errors get a request id: the cause (SQL, stack) goes to the log under it, and the
 * client gets only a generic message and the id, so an operator can find what happened.
 */
const ids = new WeakMap<object, string>();

/** The id of this error, made on first use so the log and the response agree. */
export function requestIdOf(error: object): string {
  let id = ids.get(error);
  if (!id) ids.set(error, (id = randomUUID()));
  return id;
}

export const INTERNAL_MESSAGE = 'Internal server error';

/** Logs an internal error once, under its request id. */
export function reportInternalError(logger: Logger, error: { cause?: unknown }, path: string | undefined): string {
  const requestId = requestIdOf(error);
  logger.error({ err: error.cause ?? error, path, requestId }, 'procedure failed');
  return requestId;
}

/** The `onError` of every transport: internal errors logged under their request id, refusals at debug. */
export const requestErrorLogger =
  (logger: Logger) =>
  ({ error, path }: { error: { code: string; message: string; cause?: unknown }; path?: string }) => {
    // Logged under the request id the client receives (errorFormatter in trpc.ts).
    if (error.code === 'INTERNAL_SERVER_ERROR') reportInternalError(logger, error, path);
    else logger.debug({ code: error.code, path, message: error.message }, 'request refused');
  };
