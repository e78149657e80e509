import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/** Development reads logs in a terminal; production ships JSON lines to a collector. */
export function logFormatFor(env: string): LogFormat {
  return env === 'development' ? 'pretty' : 'json';
}

export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  const options = { level, base: undefined, redact: ['req.headers.cookie', 'headers.cookie'] };
  if (format === 'json' || level === 'silent') return pino(options);
  // In-thread and synchronous: no worker to resolve in the bundled server, and nothing lost
  // when the process exits right after a fatal line.
  return pino(options, pretty({ colorize: process.stdout.isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
