/**
 * Serves the built web app: files from `dir`, and index.html for client-side routes
 * (`/conversations/12`). The folder may vanish or be rebuilt while the server runs (`vite build`
 * empties it first), so every file is looked up per request and every failure is an answer
 * (404, or 503 while index.html is missing) and a log line, never an unhandled stream error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

type Found = { file: FileHandle; size: number; mtimeMs: number; filePath: string };

/** Opens a regular file under `root`; null when it is missing, a folder, or outside `root`. */
async function openInside(root: string, urlPath: string): Promise<Found | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const filePath = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  if (filePath !== root && !filePath.startsWith(`${root}${path.sep}`)) return null;
  let file: FileHandle | null = null;
  try {
    // Open first, then stat the handle: once open, removing the file cannot break the response.
    file = await open(filePath, 'r');
    const stats = await file.stat();
    if (!stats.isFile()) {
      await file.close();
      return null;
    }
    return { file, size: stats.size, mtimeMs: stats.mtimeMs, filePath };
  } catch {
    await file?.close().catch(() => {});
    return null;
  }
}

function plain(res: ServerResponse, status: number, text: string) {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(text);
}

function send(req: IncomingMessage, res: ServerResponse, found: Found, logger: Logger | undefined) {
  const { file, size, mtimeMs, filePath } = found;
  const etag = `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
  const hashedAsset = filePath.includes(`${path.sep}assets${path.sep}`);
  const headers = {
    'content-type': TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream',
    etag,
    // Vite names assets by content hash; everything else (index.html) must be revalidated.
    'cache-control': hashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (req.headers['if-none-match'] === etag || req.method === 'HEAD') {
    void file.close().catch(() => {});
    res.writeHead(req.method === 'HEAD' ? 200 : 304, { ...headers, ...(req.method === 'HEAD' ? { 'content-length': size } : {}) }).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': size });
  const stream = file.createReadStream();
  stream.on('error', (error) => {
    logger?.warn({ err: error, file: filePath }, 'static file read failed');
    res.destroy();
  });
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

export function createStaticHandler(dir: string, logger?: Logger) {
  const root = path.resolve(dir);

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method not allowed');
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
    const direct = urlPath.endsWith('/') ? null : await openInside(root, urlPath);
    if (direct) return send(req, res, direct, logger);
    // A path with an extension is a file that is not there; anything else is a client route.
    if (path.posix.extname(urlPath) !== '') return plain(res, 404, 'Not found');
    const index = await openInside(root, '/index.html');
    if (index) return send(req, res, index, logger);
    logger?.warn({ dir: root, url: urlPath }, 'web app unavailable: index.html is missing (not built, or being rebuilt)');
    return plain(res, 503, 'The web app is not available right now (being rebuilt, or not built: run `npm run build`). Try again shortly.');
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      logger?.error({ err: error, url: req.url }, 'static handler failed');
      plain(res, 500, 'Internal error');
    });
  };
}
