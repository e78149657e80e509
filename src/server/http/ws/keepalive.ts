import type { Connection } from './connection.js';

/**
 * Keepalive: one sweep for every socket instead of two timers per socket reset on every frame.
 * Any frame from the client counts as a sign of life; after `pingMs` of silence the server sends
 * PING, and terminates the socket if nothing comes back within `pongWaitMs`.
 */
export function startKeepAlive(connections: ReadonlySet<Connection<unknown>>, { pingMs, pongWaitMs }: { pingMs: number; pongWaitMs: number }): () => void {
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const connection of connections) {
        if (connection.pingSentAt > 0) {
          if (now - connection.pingSentAt >= pongWaitMs) connection.writer.ws.terminate();
        } else if (now - connection.lastSeen >= pingMs) {
          connection.pingSentAt = now;
          connection.writer.write('PING');
        }
      }
    },
    Math.max(10, Math.min(pingMs, pongWaitMs) / 4),
  );
  sweep.unref();
  return () => clearInterval(sweep);
}
