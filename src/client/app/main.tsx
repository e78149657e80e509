import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { KeepAliveOptions } from '../client.js';
import { RealtimeProvider } from '../RealtimeProvider.js';
import { App } from './App.js';
import './styles.css';

declare global {
  interface Window {
    /** Set before the app loads (e.g. by a test's init script) to tune the client: a shorter keepalive. */
    __realtimeOptions?: { keepAlive?: KeepAliveOptions };
  }
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RealtimeProvider keepAlive={window.__realtimeOptions?.keepAlive}>
      <App />
    </RealtimeProvider>
  </StrictMode>,
);
