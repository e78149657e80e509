/**
 * The Socket.IO baseline on PostgreSQL, shared by its one-instance form (`socketio-pg-server.ts`,
 * `--store=postgresql`) and its several-instance form (`socketio-redis-server.ts`, `--cluster`):
 * Socket.IO 4 with rooms, persisting every message with one parameterized INSERT through `pg`
 * (a pool, as a typical Socket.IO app on PostgreSQL is written) before broadcasting. The
 * handshake's `auth.userId` is trusted, inputs are not validated.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { Server, type ServerOptions } from 'socket.io';
import { LISTEN_BACKLOG, serveControl } from '../control.js';

export type SocketIoOnPostgres = {
  databaseUrl: string;
  /** Socket.IO's adapter (the Redis adapter with several instances; the in-memory one by default). */
  adapter?: ServerOptions['adapter'];
  /** Runs after the server and the pool closed (dropping the database, closing Redis). */
  onClose?: () => Promise<void>;
};

type SendPayload = { room: number; content: string; cid: string };

export async function serveSocketIoOnPostgres({ databaseUrl, adapter, onClose }: SocketIoOnPostgres) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  // pg's documented must-have: an idle client's error (its backend terminated, as when the
  // database is dropped right after `pool.end()`, which resolves before its clients are gone) is
  // emitted on the pool and would otherwise crash the process.
  pool.on('error', (error) => console.error(`socketio-pg: idle PostgreSQL client: ${error.message}`));
  // IF NOT EXISTS: instances that share a database start one after the other on the same table.
  await pool.query(`CREATE TABLE IF NOT EXISTS messages (
    id SERIAL PRIMARY KEY, room INTEGER NOT NULL, sender INTEGER NOT NULL,
    content TEXT NOT NULL, client_id TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)`);

  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false, ...(adapter ? { adapter } : {}) });
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
      await onClose?.();
    },
  });
}
