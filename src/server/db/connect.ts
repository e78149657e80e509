import type { Logger } from '../logger.js';
import type { Orm } from './driver.js';

/** The store could not be reached at start; the message names the variable and the host. */
export class DatabaseUnreachableError extends Error {}

/** Where a connection URL points, without its password: safe to log. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Connects an ORM opened with `connect: false`, retrying with a growing pause (a database that
 * starts together with the server, or restarts, is normal) until `timeoutMs` has passed; then
 * fails once, clearly.
 */
export async function connectWithRetries(
  orm: Orm,
  url: string,
  { timeoutMs, logger }: { timeoutMs: number; logger?: Partial<Pick<Logger, 'warn'>> },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pauseMs = 250;
  for (let attempt = 1; ; attempt++) {
    await orm.connect().catch(() => undefined);
    const check = await orm.checkConnection();
    if (check.ok) return;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new DatabaseUnreachableError(
        `DATABASE_URL: cannot reach PostgreSQL at ${describeDatabaseUrl(url)} after ${attempt} attempt(s) in ${Math.round(timeoutMs / 1000)} s: ${check.reason}`,
      );
    }
    logger?.warn?.({ attempt, host: describeDatabaseUrl(url), reason: check.reason }, 'database unreachable, retrying');
    await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, remaining)));
    pauseMs = Math.min(pauseMs * 2, 2_000);
  }
}
