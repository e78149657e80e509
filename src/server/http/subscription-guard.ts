import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { AnyRouter } from '@trpc/server';
import { SUBSCRIPTIONS_OVER_WEBSOCKET } from '../trpc.js';

/**
 * Subscriptions are WebSocket-only: a socket is what logout and expiry close, what the per-socket
 * caps count and what makes its user present. Over HTTP tRPC would answer a subscription with a
 * server-sent event stream (even its error), so the request is refused here with a plain 405
 * and tRPC's error shape, before any stream opens.
 */
export function createSubscriptionGuard(router: AnyRouter, basePath: string) {
  const procedures = router._def.procedures as Record<string, { _def: { type: string } } | undefined>;
  const isSubscription = (path: string) => procedures[path]?._def.type === 'subscription';

  /** Answers with 405 and returns true when the request names a subscription. */
  return function refuseSubscription(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    const pathPart = url.slice(basePath.length).split('?')[0] ?? '';
    let paths: string[];
    try {
      paths = decodeURIComponent(pathPart).split(',');
    } catch {
      return false; // tRPC answers malformed paths itself
    }
    const path = paths.find(isSubscription);
    if (path === undefined) return false;
    const error = {
      message: SUBSCRIPTIONS_OVER_WEBSOCKET,
      code: TRPC_ERROR_CODES_BY_KEY.METHOD_NOT_SUPPORTED,
      data: { code: 'METHOD_NOT_SUPPORTED', httpStatus: 405, path, requestId: null, zodError: null, retryAfterMs: null },
    };
    const batch = new URL(url, 'http://localhost').searchParams.get('batch') === '1';
    const body = batch ? paths.map(() => ({ error })) : { error };
    res.writeHead(405, { 'content-type': 'application/json', allow: 'GET, POST' }).end(JSON.stringify(body));
    return true;
  };
}
