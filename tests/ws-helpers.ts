import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AnyTRPCRouter } from '@trpc/server';
import WebSocket, { WebSocketServer } from 'ws';
import { applyLeanWSHandler, type WsAdapterOptions } from '../src/server/http/ws-adapter.js';

export type Cleanups = Array<() => Promise<void> | void>;

/** An HTTP server on an ephemeral port with a WebSocketServer and the lean adapter on it. */
export async function serveLean<TRouter extends AnyTRPCRouter>(cleanups: Cleanups, options: Omit<WsAdapterOptions<TRouter>, 'wss'>) {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server });
  const handler = applyLeanWSHandler({ ...options, wss });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    handler.stop();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, wss, handler };
}

export type Answer = { id?: string | number | null; result?: { type: string; id?: string; data?: unknown }; error?: { message: string; data: { code: string } } };

/** A plain `ws` client that records every frame it receives, parsed. */
export async function openClient(cleanups: Cleanups, url: string) {
  const ws = new WebSocket(url);
  const answers: Answer[] = [];
  const raw: string[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    raw.push(text);
    try {
      answers.push(JSON.parse(text) as Answer);
    } catch {
      answers.push({});
    }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanups.push(() => ws.terminate());
  return { ws, answers, raw, closed, send: (value: unknown) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)) };
}

export async function waitFor(check: () => boolean, what = 'condition', ms = 3_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
