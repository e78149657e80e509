import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import sirv from 'sirv';

/** Serves the built web app, with index.html for client-side routes. */
export function createStaticHandler(dir: string) {
  if (!existsSync(dir)) {
    return (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('The web app is not built: run `npm run build`.');
    };
  }
  const serve = sirv(dir, { single: true, etag: true, gzip: false });
  return (req: IncomingMessage, res: ServerResponse) =>
    serve(req, res, () => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    });
}
