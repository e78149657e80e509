import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The API the dev server proxies to (`npm run dev` starts it on this port). */
const apiTarget = process.env.API_URL ?? 'http://localhost:3000';

export default defineConfig({
  root: '.',
  plugins: [react()],
  build: { outDir: 'dist/client', emptyOutDir: true, sourcemap: true },
  server: {
    port: 5173,
    proxy: {
      // HTTP and WebSocket: the session cookie travels with both because the page's origin is the proxy's.
      '/trpc': { target: apiTarget, ws: true, changeOrigin: false },
    },
  },
});
