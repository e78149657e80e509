import type { IncomingMessage } from 'node:http';

/**
 * Cross-site WebSocket hijacking guard: a browser sends the page's Origin with the upgrade, and
 * cookies ride along whatever page opened the socket. Same origin (Origin host equals Host) and
 * the configured allowlist pass; a request without Origin comes from a non-browser client,
 * which could forge any header anyway, and passes.
 */
export function isOriginAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.host === req.headers.host) return true;
  return allowedOrigins.some((allowed) => new URL(allowed).origin === parsed.origin);
}
