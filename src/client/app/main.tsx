import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RealtimeProvider } from '../RealtimeProvider.js';
import { App } from './App.js';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RealtimeProvider>
      <App />
    </RealtimeProvider>
  </StrictMode>,
);
