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
      config: { databasePath: ':memory:', logLevel: 'silent', seedDemo: false },
      rateLimits: RELAXED_LIMITS,
      identity: ({ headers }) => (headers['x-host-user'] ? { externalId: String(headers['x-host-user']), name: `user ${headers['x-host-user']}` } : null),
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
});
