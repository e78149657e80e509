/**
 * Start-up checks that turn an operator's mistake into one readable line naming the variable
 * and the path, instead of a stack trace or a silently created empty database.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A start-up failure the operator can fix; `message` is the one line to print. */
export class StartupError extends Error {}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();

/**
 * Checks that a SQLite path can be created or opened. The folder must exist: a typo in
 * DATABASE_PATH must not create folders and an empty database somewhere. Only the default path
 * (`createFolder`) may create its own folder.
 */
export function checkDatabasePath(databasePath: string, { createFolder }: { createFolder: boolean }): void {
  if (databasePath === ':memory:') return;
  const file = resolve(databasePath);
  const folder = dirname(file);
  if (!existsSync(folder)) {
    if (createFolder) return void mkdirSync(folder, { recursive: true });
    throw new StartupError(`DATABASE_PATH: the folder ${folder} does not exist (for ${file}); create it or fix the path`);
  }
  if (!statSync(folder).isDirectory()) throw new StartupError(`DATABASE_PATH: ${folder} is not a folder (for ${file})`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new StartupError(`DATABASE_PATH: ${file} is a folder, not a database file`);
}

/**
 * The database could not be opened (not a database, no permission, locked…). The driver puts
 * the failing statement before ` - `; only the reason after it is shown.
 */
export function databaseOpenError(databasePath: string, error: unknown): StartupError {
  const where = databasePath === ':memory:' ? databasePath : resolve(databasePath);
  const reason = firstLine(error).split(' - ').at(-1)!;
  const code = (error as { code?: unknown } | null)?.code;
  return new StartupError(`DATABASE_PATH: cannot open the database at ${where}: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error });
}

/** Listening failed: the port is taken or not allowed. */
export function listenError(port: number, host: string, error: unknown): StartupError | null {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'EADDRINUSE') return new StartupError(`PORT: ${host}:${port} is already in use (another server runs there?); stop it or set PORT`);
  if (code === 'EACCES') return new StartupError(`PORT: not allowed to listen on ${host}:${port}; use a port above 1024 or set PORT`);
  if (code === 'EADDRNOTAVAIL') return new StartupError(`HOST: ${host} is not an address of this machine; fix HOST`);
  return null;
}
