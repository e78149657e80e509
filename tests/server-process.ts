/** The real server (`src/server/main.ts`) in a child process, as `npm start` runs it, for multi-process tests. */
import { spawn, type ChildProcess } from 'node:child_process';

export type ServerProcess = { child: ChildProcess; base: string; wsUrl: string; output: () => string; stop(): Promise<number | null> };

export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const { child, base, output } = await spawnServer(['--import', 'tsx', 'src/server/main.ts'], { PORT: '0', ...env });
  return {
    child,
    base,
    wsUrl: `${base.replace(/^http/, 'ws')}/trpc`,
    output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exit;
    },
  };
}

/**
 * Starts a server entry point (`args` after `node`: through tsx, or the build) and resolves once
 * it logged the URL it listens on; rejects with its output if it exits or stays silent first.
 */
export async function spawnServer(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${output}`)), timeoutMs);
    child.stdout!.on('data', () => {
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
  return { child, base, output: () => output, exited };
}

/** Runs the server entry point to its exit and returns the code and everything it printed. */
export function runServerToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
