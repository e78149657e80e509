import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const folder = mkdtempSync(join(tmpdir(), 'startup-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs `src/server/main.ts` as `npm start` would (through tsx), until it exits or starts listening. */
function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('listening on')) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

describe('start-up errors: one line naming the variable and the path, non-zero exit', () => {
  it('a DATABASE_PATH inside a missing folder creates nothing', async () => {
    const path = join(folder, 'missing', 'deeper', 'db.sqlite');
    const { code, stderr } = await start({ DATABASE_PATH: path, PORT: '0' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([`DATABASE_PATH: the folder ${join(folder, 'missing', 'deeper')} does not exist (for ${path}); create it or fix the path`]);
    expect(existsSync(join(folder, 'missing'))).toBe(false);
  });

  it('a file that is not a database', async () => {
    const path = join(folder, 'not-a-database.sqlite');
    writeFileSync(path, 'this is not SQLite '.repeat(500));
    const { code, stderr } = await start({ DATABASE_PATH: path, PORT: '0' });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`DATABASE_PATH: cannot open the database at ${path}: file is not a database (SQLITE_NOTADB)`);
    expect(lines[0]).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it('a port already in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, stderr } = await start({ DATABASE_PATH: join(folder, 'ok.sqlite'), PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([`PORT: 127.0.0.1:${port} is already in use (another server runs there?); stop it or set PORT`]);
    } finally {
      blocker.close();
    }
  });

  it('a good configuration starts and listens', async () => {
    const { stdout, stderr, code } = await start({ DATABASE_PATH: join(folder, 'good.sqlite'), PORT: '0' });
    expect(stdout).toContain('listening on');
    expect({ code, stderr, stdout: stdout.slice(-2000) }).toMatchObject({ code: 0 });
  });
});
