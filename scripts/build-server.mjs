/**
 * Builds the server for `npm start` (and the benchmark's server processes) into plain JavaScript:
 * one ESM file per entry, dependencies left as imports of node_modules.
 *
 * Why not run the TypeScript through tsx in production: tsx compiles with esbuild's `keepNames`,
 * which wraps every named inner function in `Object.defineProperty(fn, 'name', …)`. Each such
 * closure then gets its own hidden class and a dictionary property store (~0.4 KB), on paths run
 * per message or kept per open subscription. Measured in BENCHMARKS.md.
 *
 * Usage: node scripts/build-server.mjs [outdir] [entry ...]   (defaults: dist/server, src/server/main.ts)
 */
import { build } from 'esbuild';

export async function buildServer({ entryPoints = ['src/server/main.ts'], outdir = 'dist/server', outbase } = {}) {
  await build({
    entryPoints,
    outdir,
    outbase,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    keepNames: false,
    logLevel: 'warning',
    outExtension: { '.js': '.mjs' },
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [outdir, ...entryPoints] = process.argv.slice(2);
  await buildServer({ outdir: outdir || undefined, entryPoints: entryPoints.length ? entryPoints : undefined });
}
