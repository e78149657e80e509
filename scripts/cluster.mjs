/**
 * `npm run cluster`: three instances of the built server and nginx in front of them, on one
 * machine. Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL; local defaults below) and nginx
 * (Debian: apt-get install nginx). Run `npm run build` first. Ctrl-C stops everything.
 *
 *   CLUSTER_PORT (3000)  where nginx listens
 *   INSTANCES (3)        how many instances, on CLUSTER_PORT+1, +2, …
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Writes the nginx config for these upstream ports into `prefix` and returns its path. */
export function renderNginxConfig({ prefix, listenPort, upstreamPorts, exposeUpstream = false }) {
  mkdirSync(prefix, { recursive: true });
  const template = readFileSync(join(root, 'deploy/nginx.conf'), 'utf8');
  const upstreams = upstreamPorts.map((port) => `    server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;`).join('\n');
  const config = template
    .replaceAll('{{PREFIX}}', prefix)
    .replaceAll('{{LISTEN}}', `127.0.0.1:${listenPort}`)
    .replaceAll('{{UPSTREAMS}}', upstreams)
    // Tests only: which instance answered (never in a deployment: it shows internal addresses).
    .replace('proxy_pass http://realtime;', exposeUpstream ? 'proxy_pass http://realtime;\n      add_header X-Upstream $upstream_addr always;' : 'proxy_pass http://realtime;');
  const path = join(prefix, 'nginx.conf');
  writeFileSync(path, config);
  return path;
}

/** Starts nginx in the foreground on a rendered config; resolves once it accepts connections. */
export function startNginx(configPath, prefix) {
  const nginx = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  return spawn(nginx, ['-p', prefix, '-c', configPath], { stdio: ['ignore', 'inherit', 'inherit'] });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const listenPort = Number(process.env.CLUSTER_PORT ?? 3000);
  const count = Number(process.env.INSTANCES ?? 3);
  const env = {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/realtime',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    // glibc's malloc settings of `npm start` (README, "Password hashing keeps memory on glibc").
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
    TRUST_PROXY: process.env.TRUST_PROXY ?? 'true',
  };
  if (!existsSync(join(root, 'dist/server/main.mjs'))) {
    console.error('cluster: dist/server/main.mjs is missing; run `npm run build` first');
    process.exit(1);
  }
  const children = [];
  const ports = Array.from({ length: count }, (_, index) => listenPort + 1 + index);
  for (const [index, port] of ports.entries()) {
    // Only the first applies migrations and seeds demo data; the others wait for it to listen.
    const child = spawn(process.execPath, ['--enable-source-maps', join(root, 'dist/server/main.mjs')], {
      env: { ...env, PORT: String(port), HOST: '127.0.0.1', ...(index > 0 ? { SEED_DEMO: 'false' } : {}) },
      stdio: 'inherit',
    });
    children.push(child);
    if (index === 0) await waitForHttp(port);
  }
  const prefix = join(root, '.tmp/cluster');
  const nginx = startNginx(renderNginxConfig({ prefix, listenPort, upstreamPorts: ports }), prefix);
  children.push(nginx);
  console.log(`cluster: ${count} instances on ${ports.join(', ')}, nginx on http://127.0.0.1:${listenPort}`);
  const stop = () => {
    for (const child of children) child.kill('SIGTERM');
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function waitForHttp(port) {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      // Any answer will do: /healthz may not exist in this version.
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.status < 500) return;
    } catch {}
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`instance on port ${port} did not start`);
}
