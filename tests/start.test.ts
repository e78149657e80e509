import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openOrm } from '../src/server/db/orm.js';

const dir = mkdtempSync(join(tmpdir(), 'realtime-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// `npm start` runs the server built by scripts/build-server.mjs; build it the same way (into this
// checkout's .tmp/, from where package imports resolve through its node_modules; not into a
// node_modules that worktrees share) and run it with npm start's flags and environment.
const outdir = join('.tmp', 'start-test');
const main = join(outdir, 'main.mjs');
const startScript = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
const startFlags = startScript.split(/\s+/).filter((word) => word.startsWith('--'));
// The variables npm start sets before `node` (glibc's malloc settings: read at exec, README).
const startEnv = Object.fromEntries(startScript.split(/\s+node\s/)[0]!.split(/\s+/).filter((word) => word.includes('=')).map((word) => word.split('=') as [string, string]));
beforeAll(async () => {
  expect(startScript).toMatch(/^(\w+=\S+ )*node .*dist\/server\/main\.mjs$/);
  expect(startEnv).toMatchObject({ MALLOC_ARENA_MAX: '2' });
  // @ts-expect-error: a plain .mjs script without type declarations
  const { buildServer } = (await import('../scripts/build-server.mjs')) as { buildServer(options: { outdir: string }): Promise<void> };
  await buildServer({ outdir });
});

/** What `npm start` runs, minus the web-app build: a real process, a real database file. */
it('starts from the environment, creates the database in WAL mode, serves the API and stops cleanly on SIGTERM', async () => {
  // The folder must exist: a DATABASE_PATH in a missing folder is refused (tests/startup.test.ts).
  mkdirSync(join(dir, 'nested'));
  const databasePath = join(dir, 'nested', 'chat.sqlite');
  const child = spawn(process.execPath, [...startFlags, main], {
    env: { ...process.env, ...startEnv, PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: databasePath, NODE_ENV: 'production', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${output}`)), 30_000);
    child.stdout.on('data', () => {
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  const response = await fetch(`${url}/trpc/auth.me`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ result: { data: null } });
  expect(existsSync(databasePath)).toBe(true);

  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exit).toBe(0);
  // The checkpoint worker stopped before the server's connection closed, so that connection was
  // the last one: SQLite folded the WAL into the database and removed it.
  expect(existsSync(`${databasePath}-wal`)).toBe(false);
  // Production mode seeds nothing; the schema is there and the file is in WAL mode.
  const orm = await openOrm({ dbPath: databasePath });
  const [mode] = await orm.em.fork().execute<Array<{ journal_mode: string }>>('pragma journal_mode');
  expect(mode!.journal_mode).toBe('wal');
  expect(await orm.em.fork().execute('select * from users')).toEqual([]);
  await orm.close();
});

it('refuses to start on a bad variable and names it', async () => {
  const child = spawn(process.execPath, [...startFlags, main], {
    env: { ...process.env, PORT: 'not-a-port', DATABASE_PATH: join(dir, 'never.sqlite') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(stderr).toContain('PORT');
});
