import type { IncomingMessage } from 'node:http';

/**
 * The client's address: the socket's peer, or behind a trusted proxy the last X-Forwarded-For
 * entry (the one our proxy wrote; earlier ones come from the client and prove nothing). Without
 * it, every client behind a load balancer shares the balancer's address and its rate limit.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string | null {
  const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined;
  const last = (Array.isArray(forwarded) ? forwarded.at(-1) : forwarded)?.split(',').at(-1)?.trim();
  return last || (req.socket?.remoteAddress ?? null);
}
