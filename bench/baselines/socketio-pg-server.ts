/**
 * Baseline on PostgreSQL (`--store=postgresql`): Socket.IO with one `pg` INSERT per message
 * (`socketio-pg.ts`), on a database of its own, dropped when it closes.
 */
import { createBenchDatabase } from '../postgres.js';
import { serveSocketIoOnPostgres } from './socketio-pg.js';

const database = await createBenchDatabase('bench_sio');
await serveSocketIoOnPostgres({ databaseUrl: database.url, onClose: () => database.drop() });
