import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtIdentity } from '../../src/server/integration/recipes.js';
import WebSocket from 'ws';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/server/config.js';
import { createServer, type RealtimeServer } from '../../src/server/index.js';
import { RELAXED_LIMITS } from '../helpers.js';
import { httpQuery, socketProbe } from './probes.js';

const secret = new TextEncoder().encode('host-app-signing-secret-0123456789abcdef');
const otherSecret = new TextEncoder().encode('someone-elses-secret-0123456789abcdef0000');
const issuer = 'https://host.example';
const audience = 'chat';

function token({ key = secret, aud = audience, expiresIn = '10m', sub = 'host-42', name = 'Ana', picture = 'https://host.example/ana.png' } = {}) {
  return new SignJWT({ name, picture })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(issuer)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

describe('JWT identity recipe', () => {
  let app: RealtimeServer;
  let base: string;
  let wsUrl: string;

  beforeAll(async () => {
    app = await createServer({
      // Expired sessions are swept every 100 ms here (a minute by default).
      config: { databasePath: ':memory:', logLevel: 'silent', seedDemo: false, connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, sessionCheckMs: 100 } },
      rateLimits: RELAXED_LIMITS,
      identity: jwtIdentity({ key: secret, issuer, audience, algorithms: ['HS256'] }),
    });
    const { port } = await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
    wsUrl = `ws://127.0.0.1:${port}/trpc`;
  });
  afterAll(() => app.close());

  it('connects with a valid token, over HTTP and at the socket, as the host user', async () => {
    const bearer = { authorization: `Bearer ${await token()}` };
    const me = await httpQuery(base, 'auth.me', bearer);
    expect(me.data).toEqual({ id: expect.any(Number), username: 'Ana', avatarUrl: 'https://host.example/ana.png' });
    expect((await httpQuery(base, 'conversation.list', bearer)).data).toEqual([]);
    expect(await socketProbe(wsUrl, bearer)).toBe('started');
    // Browsers cannot set headers on a WebSocket: the same token in a cookie works too.
    expect(await socketProbe(wsUrl, { cookie: `chat_token=${await token()}` })).toBe('started');
  });

  it('refuses an expired token, a wrong audience, a wrong signature and no token', async () => {
    const refused = {
      expired: `Bearer ${await token({ expiresIn: '-1m' })}`,
      wrongAudience: `Bearer ${await token({ aud: 'billing' })}`,
      wrongSignature: `Bearer ${await token({ key: otherSecret })}`,
      garbage: 'Bearer not.a.jwt',
    };
    for (const [what, authorization] of Object.entries(refused)) {
      const call = await httpQuery(base, 'conversation.list', { authorization });
      expect({ what, status: call.status, code: call.code }).toEqual({ what, status: 401, code: 'UNAUTHORIZED' });
      expect({ what, socket: await socketProbe(wsUrl, { authorization }) }).toEqual({ what, socket: 'UNAUTHORIZED' });
    }
    expect((await httpQuery(base, 'conversation.list')).code).toBe('UNAUTHORIZED');
    expect((await httpQuery(base, 'auth.me')).data).toBeNull();
    expect(await socketProbe(wsUrl)).toBe('UNAUTHORIZED');
  });

  it('upserts by external id: one user per host id, name and avatar follow the host', async () => {
    const first = await httpQuery(base, 'auth.me', { authorization: `Bearer ${await token({ sub: 'host-7', name: 'Bo' })}` });
    const renamed = await httpQuery(base, 'auth.me', { authorization: `Bearer ${await token({ sub: 'host-7', name: 'Bo Renamed', picture: 'https://host.example/bo-2.png' })}` });
    expect(renamed.data).toEqual({ id: (first.data as { id: number }).id, username: 'Bo Renamed', avatarUrl: 'https://host.example/bo-2.png' });
    // A host name that is also a password account's name does not collide with it.
    const other = await httpQuery(base, 'auth.me', { authorization: `Bearer ${await token({ sub: 'host-8', name: 'Bo Renamed' })}` });
    expect((other.data as { id: number }).id).not.toBe((first.data as { id: number }).id);
  });

  it('closes a socket when its token expires (4001), like an expired session', async () => {
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${await token({ expiresIn: '2s' })}` } });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    expect(await closed).toBe(4001);
  });
});
