/**
 * Baseline: Socket.IO 4 with rooms, persisting every message with better-sqlite3 (WAL, one
 * prepared insert per message) before broadcasting, as a typical Socket.IO app is written.
 * The handshake's `auth.userId` is trusted (no sessions), inputs are not validated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Server } from 'socket.io';
import { LISTEN_BACKLOG, serveControl } from '../control.js';

const folder = mkdtempSync(join(tmpdir(), 'bench-sio-'));
const db = new Database(join(folder, 'bench.sqlite'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, room INTEGER NOT NULL, sender INTEGER NOT NULL,
  content TEXT NOT NULL, client_id TEXT NOT NULL, created_at TEXT NOT NULL)`);
const insert = db.prepare('INSERT INTO messages (room, sender, content, client_id, created_at) VALUES (?, ?, ?, ?, ?)');

const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });

type SendPayload = { room: number; content: string; cid: string };

io.on('connection', (socket) => {
  const sender = Number(socket.handshake.auth.userId);
  socket.on('join', (room: number, ack?: () => void) => {
    void socket.join(`room:${room}`);
    ack?.();
  });
  socket.on('send', ({ room, content, cid }: SendPayload, ack?: (message: unknown) => void) => {
    const createdAt = new Date().toISOString();
    const { lastInsertRowid } = insert.run(room, sender, content, cid, createdAt);
    const message = { id: Number(lastInsertRowid), room, sender, content, cid, createdAt };
    io.to(`room:${room}`).emit('msg', message);
    ack?.(message);
  });
});

await new Promise<void>((resolve) => http.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, resolve));
serveControl({
  port: (http.address() as { port: number }).port,
  async close() {
    await new Promise<void>((resolve) => io.close(() => resolve()));
    db.close();
    rmSync(folder, { recursive: true, force: true });
  },
});
