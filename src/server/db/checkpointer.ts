/**
 * WAL checkpoints on a worker thread.
 *
 * In WAL mode every commit appends the pages it changed to the `-wal` file; a checkpoint copies
 * them back into the database file. By default SQLite runs one inside whichever commit takes the
 * WAL past 1,000 pages, and with a synchronous driver that commit is on the event loop: under
 * steady sends it stalled the loop for 5-10 ms about once a second and cost about a quarter of the
 * time spent inserting messages (BENCHMARKS.md). Here the server's own connection turns automatic
 * checkpoints off and a worker thread, with its own connection to the same file, checkpoints:
 *
 * - every `intervalMs` PASSIVE checkpoints: each copies what it can without ever taking the writer
 *   lock, so the server's commits never wait for it. Frames committed while one runs stay behind,
 *   and SQLite starts the WAL over only once every frame is copied: under steady writes a worker
 *   alone would never get there. So it repeats (up to five rounds) until a round finds at most
 *   `finishFrames` new pages, and then hands the rest, about that much, to `finish`: a PASSIVE
 *   checkpoint on the server's own connection (about a millisecond, between two commits). The
 *   next commit writes the WAL from its start again, and the WAL stays bounded by what is
 *   written in one interval. Rounds that do not get there leave it to the next interval;
 * - if writes still outrun it and the WAL passes `restartBytes`, a RESTART as a safety valve: it
 *   takes the writer lock (the server's commits wait) to copy the rest and start over.
 *
 * The worker is plain CommonJS run with `eval`, so it needs no file of its own in the build.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export type CheckpointerOptions = {
  /** The database file (already in WAL mode). */
  dbPath: string;
  intervalMs?: number;
  restartBytes?: number;
  /** The largest rest (in pages) handed to `finish`; a larger one gets another passive round first. */
  finishFrames?: number;
  /** How long the worker's RESTART may wait for the writer lock before trying again next time. */
  busyTimeoutMs?: number;
  /** Copies the rest of the WAL with a PASSIVE checkpoint on the server's own connection. */
  finish(): Promise<void>;
  /** The worker failed or exited on its own: checkpoints must be done some other way from now on. */
  onFailure(error: unknown): void;
};

export type CheckpointStats = {
  /** Checkpoints run (passive and restart) and the frames they copied. */
  checkpoints: number;
  /** Rests handed to `finish`, and RESTARTs the safety valve needed. */
  finishes: number;
  restarts: number;
  framesCopied: number;
  /** Frames in the WAL at the last checkpoint. */
  walFrames: number;
};

export type Checkpointer = {
  /** Runs one checkpoint now (tests, diagnostics); resolves with the totals so far. */
  checkpointNow(): Promise<CheckpointStats>;
  /** Stops the worker and closes its connection; call before closing the server's connection. */
  stop(): Promise<void>;
};

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const db = new Database(workerData.dbPath, { fileMustExist: true });
if (db.pragma('journal_mode', { simple: true }) !== 'wal') throw new Error('checkpointer: ' + workerData.dbPath + ' is not in WAL mode');
db.pragma('busy_timeout = ' + Number(workerData.busyTimeoutMs));
const pageSize = db.pragma('page_size', { simple: true });
const stats = { checkpoints: 0, finishes: 0, restarts: 0, framesCopied: 0, walFrames: 0 };
// The WAL's length and copied frames at the previous checkpoint: what each one copied, and what
// was committed in between.
let lastLog = 0;
let lastCopied = 0;
function note(row) {
  // Shorter than last time: the WAL started over in between.
  const restarted = row.log < lastLog;
  stats.framesCopied += Math.max(0, row.checkpointed - (restarted ? 0 : lastCopied));
  const fresh = restarted ? row.log : row.log - lastLog;
  lastLog = Math.max(0, row.log);
  lastCopied = Math.max(0, row.checkpointed);
  stats.walFrames = lastLog;
  return fresh;
}
function passive() {
  const [row] = db.pragma('wal_checkpoint(PASSIVE)');
  stats.checkpoints++;
  return { row, fresh: note(row) };
}
// Idle: nothing committed since a checkpoint that left nothing behind (data_version moves with
// every commit of another connection), so there is nothing to copy and the round is skipped.
let idleAt = null;
function checkpoint() {
  const version = db.pragma('data_version', { simple: true });
  if (version === idleAt) return;
  // A passive checkpoint copies the frames committed before it started; those committed while it
  // ran wait for the next one. Rounds until one finds little new, at most five.
  let { row, fresh } = passive();
  for (let round = 0; round < 4 && fresh > workerData.finishFrames; round++) ({ row, fresh } = passive());
  if (row.log * pageSize > workerData.restartBytes) {
    // Busy (the writer lock not obtained in time) is not an error: the next round tries again.
    const [restart] = db.pragma('wal_checkpoint(RESTART)');
    note(restart);
    if (!restart.busy) stats.restarts++;
    return;
  }
  if (row.log > 0 && fresh <= workerData.finishFrames) {
    // Left: about what was committed during the last round. The server's connection copies it
    // between two of its commits, and its next commit starts the WAL over.
    stats.finishes++;
    parentPort.postMessage({ type: 'finish' });
  }
  // Every frame copied: until the next commit, further rounds would find nothing to do.
  if (row.checkpointed >= row.log) idleAt = version;
}
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'checkpoint') {
    checkpoint();
    parentPort.postMessage({ type: 'stats', stats });
  } else if (message === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready' });
`;

export async function startCheckpointer({
  dbPath,
  intervalMs = 250,
  restartBytes = 64 * 1024 * 1024,
  finishFrames = 256,
  busyTimeoutMs = 1_000,
  finish,
  onFailure,
}: CheckpointerOptions): Promise<Checkpointer> {
  for (const [name, value] of Object.entries({ intervalMs, restartBytes, finishFrames, busyTimeoutMs })) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`checkpointer: ${name} must be a positive number, got ${value}`);
  }
  const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { dbPath, driverPath, intervalMs, restartBytes, finishFrames, busyTimeoutMs },
  });
  // Never what keeps the process alive; stop() is what ends it.
  worker.unref();

  let stopping = false;
  let failed = false;
  const waiting: Array<{ resolve: (stats: CheckpointStats) => void; reject: (error: unknown) => void }> = [];
  const fail = (error: unknown) => {
    if (stopping || failed) return;
    failed = true;
    for (const request of waiting.splice(0)) request.reject(error);
    onFailure(error);
  };

  await new Promise<void>((resolve, reject) => {
    const onReady = (message: { type: string }) => {
      if (message.type !== 'ready') return;
      worker.off('error', onStartError);
      resolve();
    };
    const onStartError = (error: Error) => {
      worker.off('message', onReady);
      failed = true;
      reject(error);
    };
    worker.on('message', onReady);
    worker.once('error', onStartError);
  });

  worker.on('message', (message: { type: string; stats?: CheckpointStats }) => {
    if (message.type === 'stats') waiting.shift()?.resolve(message.stats!);
    else if (message.type === 'finish' && !stopping) finish().catch(fail);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`checkpoint worker exited (code ${code})`)));

  return {
    checkpointNow() {
      if (failed || stopping) return Promise.reject(new Error('checkpoint worker is not running'));
      return new Promise<CheckpointStats>((resolve, reject) => {
        waiting.push({ resolve, reject });
        worker.postMessage('checkpoint');
      });
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      if (failed) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      await exited;
      for (const request of waiting.splice(0)) request.reject(new Error('checkpoint worker stopped'));
    },
  };
}
