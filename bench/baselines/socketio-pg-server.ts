/**
 * Baseline on PostgreSQL (`--store=postgresql`): Socket.IO 4 with rooms, persisting every message
 * with one parameterized INSERT through `pg` (a pool, as a typical Socket.IO app on PostgreSQL is
 * written) before broadcasting. The handshake's `auth.userId` is trusted, inputs are not validated.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { Server } from 'socket.io';
import { LISTEN_BACKLOG, serveControl } from '../control.js';
import { createBenchDatabase } from '../postgres.js';

const database = await createBenchDatabase('bench_sio');
const pool = new pg.Pool({ connectionString: database.url, max: 10 });
await pool.query(`CREATE TABLE messages (
  id SERIAL PRIMARY KEY, room INTEGER NOT NULL, sender INTEGER NOT NULL,
  content TEXT NOT NULL, client_id TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)`);

const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });

type SendPayload = { room: number; content: string; cid: string };
const lastInRoom = new Map<number, Promise<void>>();

io.on('connection', (socket) => {
  const sender = Number(socket.handshake.auth.userId);
  socket.on('join', (room: number, ack?: () => void) => {
    void socket.join(`room:${room}`);
    ack?.();
  });
  socket.on('send', ({ room, content, cid }: SendPayload, ack?: (message: unknown) => void) => {
    const createdAt = new Date();
    const inserted = pool.query<{ id: number }>(
      'INSERT INTO messages (room, sender, content, client_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [room, sender, content, cid, createdAt],
    );
    // Inserts run side by side on the pool; each room still hears its messages in the order they
    // arrived (chat needs that, and the benchmark checks it).
    const previous = lastInRoom.get(room) ?? Promise.resolve();
    const broadcast = previous.then(async () => {
      const { rows } = await inserted;
      const message = { id: rows[0]!.id, room, sender, content, cid, createdAt: createdAt.toISOString() };
      io.to(`room:${room}`).emit('msg', message);
      ack?.(message);
    });
    lastInRoom.set(room, broadcast.catch(() => undefined));
  });
});

await new Promise<void>((resolve) => http.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, resolve));
serveControl({
  port: (http.address() as { port: number }).port,
  async close() {
    await new Promise<void>((resolve) => io.close(() => resolve()));
    await pool.end();
    await database.drop();
  },
});
