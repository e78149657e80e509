import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readiness } from '../backends.js';
import type { AppDeps } from '../context.js';

/**
 * Endpoints for operators and orchestrators, outside the API:
 * `/healthz` the process answers; `/readyz` its backends answer (the database, and each of
 * `readiness`: `redis` when the server runs on Redis, with its own field in the answer);
 * `/metrics` Prometheus text from this server's registry. Keep `/metrics` on an internal
 * network (a reverse proxy should not expose it).
 */
export function createOperationsHandler({ orm, metrics, logger }: Pick<AppDeps, 'orm' | 'metrics' | 'logger'>, readiness: Readiness = {}) {
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));

  async function databaseAnswers(): Promise<boolean> {
    try {
      await orm.em.fork().execute('select 1');
      return true;
    } catch (error) {
      logger.warn({ err: error }, 'readiness: the database does not answer');
      return false;
    }
  }

  async function readinessReport() {
    const checks = Object.entries(readiness);
    const [database, ...others] = await Promise.all([databaseAnswers(), ...checks.map(([, answers]) => answers())]);
    const report: Record<string, boolean> = { database: database! };
    checks.forEach(([name], index) => {
      report[name] = others[index]!;
      if (!others[index]) logger.warn({ backend: name }, 'readiness: a backend does not answer');
    });
    const ready = Object.values(report).every(Boolean);
    return { ready, body: { status: ready ? 'ready' : 'unavailable', ...report } };
  }

  /** Answers the request and returns true when it is an operations path. */
  return function handleOperations(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/healthz') {
      json(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      void readinessReport().then(({ ready, body }) => json(res, ready ? 200 : 503, body));
      return true;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(text),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics collection failed');
          json(res, 500, { status: 'error' });
        },
      );
      return true;
    }
    return false;
  };
}
