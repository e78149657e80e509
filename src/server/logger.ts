import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/** Development reads logs in a terminal; production ships JSON lines to a collector. */
export function logFormatFor(env: string): LogFormat {
  return env === 'development' ? 'pretty' : 'json';
}

/** `destination` defaults to stdout. */
export function createLogger(level: string, format: LogFormat = 'json', destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: undefined, redact: ['req.headers.cookie', 'headers.cookie'] };
  if (format === 'json' || level === 'silent') return destination ? pino(options, destination) : pino(options);
  // In-thread and synchronous: no worker to resolve in the bundled server, and nothing lost
  // when the process exits right after a fatal line.
  const colorize = !destination && process.stdout.isTTY === true;
  return pino(options, pretty({ colorize, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', ...(destination ? { destination } : {}) }));
}
