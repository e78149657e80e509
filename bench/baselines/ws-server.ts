/**
 * Baseline floor: bare `ws`, rooms as sets of sockets, broadcast with one JSON.stringify per
 * event. No persistence, no auth, no validation; the sender sees its own echo as the ack.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { LISTEN_BACKLOG, serveControl } from '../control.js';

const http = createServer();
const wss = new WebSocketServer({ server: http });
const rooms = new Map<number, Set<WebSocket>>();

type Incoming = { t: 'join'; room: number } | { t: 'send'; room: number; content: string; cid: string };

wss.on('connection', (socket) => {
  const joined: number[] = [];
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as Incoming;
    if (message.t === 'join') {
      let members = rooms.get(message.room);
      if (!members) rooms.set(message.room, (members = new Set()));
      members.add(socket);
      joined.push(message.room);
      socket.send('{"t":"joined"}');
    } else if (message.t === 'send') {
      const data = JSON.stringify({ t: 'msg', room: message.room, content: message.content, cid: message.cid });
      for (const member of rooms.get(message.room) ?? []) member.send(data);
    }
  });
  socket.on('close', () => {
    for (const room of joined) rooms.get(room)?.delete(socket);
  });
});

await new Promise<void>((resolve) => http.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, resolve));
serveControl({
  port: (http.address() as { port: number }).port,
  async close() {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  },
});
