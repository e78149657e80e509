/** The real server as its own process (`src/server/main.ts` through tsx), so a test can restart it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { eventually } from './browser.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export type ServerProcess = { url: string; stop(): Promise<void>; start(): Promise<void> };

/** Starts main.ts on `port` with a database file that outlives restarts. */
export function serverProcess(port: number, databasePath: string): ServerProcess {
  let child: ChildProcess | null = null;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async start() {
      child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
        env: { ...process.env, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', DATABASE_PATH: databasePath, LOG_LEVEL: 'warn', SEED_DEMO: 'false' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      await eventually(async () => {
        const response = await fetch(`${url}/trpc/auth.me`);
        if (!response.ok) throw new Error(`status ${response.status}`);
      }, 30_000, 200);
    },
    /** SIGTERM (graceful shutdown); SIGKILL if it has not exited within 5 s. */
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      const timer = setTimeout(() => {
        console.warn('[server-process] no exit 5 s after SIGTERM: SIGKILL');
        running.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
