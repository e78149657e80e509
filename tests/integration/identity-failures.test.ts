import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSessionIdentity } from '../../src/server/integration/recipes.js';
import { createServer, type RealtimeServer } from '../../src/server/index.js';
import { RELAXED_LIMITS } from '../helpers.js';
import { httpQuery, socketProbe } from './probes.js';

/** The host app's session store, behind an HTTP endpoint the chat server calls (the first recipe). */
function startHostSessionEndpoint() {
  const sessions = new Map<string, { id: string; name: string }>([['s-ana', { id: 'u1', name: 'Ana' }]]);
  const server: Server = createHttpServer((req, res) => {
    const user = sessions.get(String(req.headers['x-session-id']));
    res.writeHead(user ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(user ?? null));
  });
  return new Promise<{ server: Server; url: string }>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })),
  );
}

describe('host identity resolvers', () => {
  const logLines: string[] = [];
  let app: RealtimeServer;
  let host: Awaited<ReturnType<typeof startHostSessionEndpoint>>;
  let base: string;
  let wsUrl: string;

  beforeAll(async () => {
    host = await startHostSessionEndpoint();
    const sessionCookie = hostSessionIdentity({
      cookieName: 'host_sid',
      async lookup(sessionId, { signal }) {
        const response = await fetch(`${host.url}/session`, { headers: { 'x-session-id': sessionId }, signal });
        if (response.status === 404) return null;
        const user = (await response.json()) as { id: string; name: string };
        return { externalId: user.id, name: user.name };
      },
    });
    app = await createServer({
      config: { databasePath: ':memory:', seedDemo: false },
      logger: pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) }),
      rateLimits: RELAXED_LIMITS,
      identity: {
        timeoutMs: 200,
        // A test switchboard: the x-mode header picks how this resolver misbehaves.
        resolve(request) {
          switch (request.headers['x-mode']) {
            case 'throws':
              throw new Error('host session store is down');
            case 'hangs':
              return new Promise(() => {});
            case 'malformed':
              return { externalId: '', name: 42 } as never;
            default:
              return sessionCookie(request);
          }
        },
      },
    });
    const { port } = await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
    wsUrl = `ws://127.0.0.1:${port}/trpc`;
  });
  afterAll(async () => {
    await app.close();
    host.server.close();
  });

  it('host session cookie recipe: a known host session connects, an unknown one is nobody', async () => {
    const me = await httpQuery(base, 'auth.me', { cookie: 'host_sid=s-ana' });
    expect(me.data).toEqual({ id: expect.any(Number), username: 'Ana' });
    expect(await socketProbe(wsUrl, { cookie: 'host_sid=s-ana' })).toBe('started');
    expect((await httpQuery(base, 'auth.me', { cookie: 'host_sid=s-nobody' })).data).toBeNull();
    expect(await socketProbe(wsUrl, { cookie: 'host_sid=s-nobody' })).toBe('UNAUTHORIZED');
  });

  it.each([
    ['throws', 'resolver threw: host session store is down'],
    ['hangs', 'resolver timed out after 200 ms'],
    ['malformed', 'resolver returned a malformed user'],
  ])('a resolver that %s is refused with UNAUTHORIZED and a logged reason; others keep being served', async (mode, reason) => {
    const headers = { cookie: 'host_sid=s-ana', 'x-mode': mode };
    logLines.length = 0;
    const call = await httpQuery(base, 'auth.me', headers);
    expect(call).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: 'Your identity could not be verified' });
    expect(JSON.stringify(call)).not.toContain(reason);
    expect(await socketProbe(wsUrl, headers)).toBe('UNAUTHORIZED');
    const logged = logLines.map((line) => JSON.parse(line) as { reason?: string; transport?: string });
    expect(logged.filter((line) => line.reason?.startsWith(reason)).map((line) => line.transport).sort()).toEqual(['http', 'ws']);
    // The server still serves everyone else.
    expect((await httpQuery(base, 'auth.me', { cookie: 'host_sid=s-ana' })).data).toMatchObject({ username: 'Ana' });
    expect(await socketProbe(wsUrl, { cookie: 'host_sid=s-ana' })).toBe('started');
  });
});
