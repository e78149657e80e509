import { useConnectionState } from '../../RealtimeProvider.js';

const TEXT = {
  reconnecting: 'Connection lost. Reconnecting…',
  offline: 'You are offline. Messages will arrive when the connection is back.',
} as const;

/** Shown while the live connection is down; sending still works over HTTP. */
export function ConnectionBanner() {
  const status = useConnectionState();
  if (status !== 'reconnecting' && status !== 'offline') return null;
  return (
    <div className={`banner banner-${status}`} role="status" aria-live="polite">
      {TEXT[status]}
    </div>
  );
}
