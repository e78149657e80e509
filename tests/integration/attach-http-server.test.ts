/**
 * The chat alone (not mounted) on a host's existing http.Server: HTTP under the host's prefix
 * through tRPC's Node adapter (createChatHttpHandler), the WebSocket at the host's path, and the
 * host's own routes and upgrade paths left alone.
 */
import { createServer as createNodeServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { attachWebSocket, createChatHttpHandler, createServer, type AttachedSocket, type RealtimeServer } from '../../src/server/index.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/server/config.js';
import { RELAXED_LIMITS } from '../helpers.js';
import { socketProbe } from './probes.js';

describe('chat attached to an existing http.Server', () => {
  const server = createNodeServer();
  let chat: RealtimeServer;
  let attached: AttachedSocket;
  let base: string;
  let port: number;
  const unanswered: Duplex[] = [];

  beforeAll(async () => {
    chat = await createServer({
      // Expired identities are swept every 100 ms here (a minute by default).
      config: { databasePath: ':memory:', logLevel: 'silent', seedDemo: false, connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, sessionCheckMs: 100 } },
      rateLimits: RELAXED_LIMITS,
      identity: ({ headers }) => {
        if (!headers['x-host-user']) return null;
        const expiresInMs = Number(headers['x-expires-in-ms'] ?? 0);
        return { externalId: String(headers['x-host-user']), name: `user ${headers['x-host-user']}`, ...(expiresInMs ? { expiresAt: Date.now() + expiresInMs } : {}) };
      },
    });
    const chatHttp = createChatHttpHandler(chat, { basePath: '/chat/' });
    server.on('request', (req, res) => {
      if (req.url?.startsWith('/chat/')) return chatHttp(req, res);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('host page');
    });
    attached = attachWebSocket(chat, server, { path: '/chat/socket' });
    // Upgrades to other paths are the host's: this one only keeps them (to close them at the end).
    server.on('upgrade', (req, socket) => void (req.url !== '/chat/socket' && unanswered.push(socket)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await attached.close();
    for (const socket of unanswered) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await chat.close();
  });

  it('serves the chat under the host prefix and path, and leaves the rest to the host', async () => {
    const me = await fetch(`${base}/chat/auth.me`, { headers: { 'x-host-user': '7' } });
    expect(((await me.json()) as { result: { data: unknown } }).result.data).toMatchObject({ username: 'user 7' });
    expect(await socketProbe(`ws://127.0.0.1:${port}/chat/socket`, { 'x-host-user': '7' })).toBe('started');
    expect(await socketProbe(`ws://127.0.0.1:${port}/chat/socket`)).toBe('UNAUTHORIZED');
    expect(await (await fetch(`${base}/feed`)).text()).toBe('host page');

    // An upgrade to another path is not answered by the chat (the host's listener keeps it pending).
    const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
    other.on('error', () => {}); // terminated below while still connecting
    const outcome = await Promise.race([
      new Promise((resolve) => other.once('open', () => resolve('opened'))),
      new Promise((resolve) => setTimeout(() => resolve('untouched'), 300)),
    ]);
    expect(outcome).toBe('untouched');
    other.terminate();
  });

  it("closes an attached socket with 4001 when the host's identity for it expires, as the built-in server does", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/socket`, { headers: { 'x-host-user': '9', 'x-expires-in-ms': '500' } });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    expect(await closed).toBe(4001);
  });
});
