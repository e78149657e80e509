/**
 * Graceful shutdown of the HTTP side: a keep-alive client that never pauses (a load balancer's
 * pooled upstream connection, say) must not keep a closing server open.
 */
import http from 'node:http';
import { expect, it } from 'vitest';
import { startServer } from './socket-helpers.js';

it('a keep-alive connection sending request after request does not hold a closing server open', async () => {
  const server = await startServer();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({});
  let closing = false;
  const answeredWhileClosing: string[] = [];
  /** One POST whose body arrives after `release` resolves: a request in progress meanwhile. */
  const post = (release: Promise<unknown>) =>
    new Promise<boolean>((resolve) => {
      const request = http.request(
        { host: '127.0.0.1', port: server.port, path: '/trpc/auth.logout', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          if (closing) answeredWhileClosing.push(String(res.headers.connection));
          res.resume();
          res.on('end', () => resolve(true));
        },
      );
      request.on('error', () => resolve(false));
      request.flushHeaders();
      void release.then(() => request.end(body));
    });

  let sent = 0;
  let hold: (() => void) | null = null;
  const held = new Promise<void>((resolve) => (hold = resolve));
  let releaseHeld!: () => void;
  const client = (async () => {
    for (;;) {
      sent++;
      // The 20th request waits for its body until the server began closing.
      const release = sent === 20 ? new Promise<void>((resolve) => ((releaseHeld = resolve), hold!())) : Promise.resolve();
      if (!(await post(release))) return;
    }
  })();
  await held;
  await new Promise((resolve) => setTimeout(resolve, 50));

  closing = true;
  const closed = server.app.close();
  releaseHeld();
  await closed;
  await client;
  agent.destroy();
  // The request in progress when the close began is answered, with `Connection: close`, and the
  // connection carries nothing more.
  expect(answeredWhileClosing).toEqual(['close']);
});
