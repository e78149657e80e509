import { useCallback, useSyncExternalStore } from 'react';
import { plural } from '../../logic/format.js';
import { useConnectionState, useRealtimeContext } from '../../RealtimeProvider.js';

const TEXT = {
  reconnecting: 'Connection lost. Reconnecting…',
  offline: 'You are offline.',
} as const;

/** Shown while the live connection is down, and while the outbox holds unsent messages. */
export function ConnectionBanner() {
  const status = useConnectionState();
  const { store } = useRealtimeContext();
  const subscribe = useCallback((listener: () => void) => store.subscribe(listener), [store]);
  const waiting = useSyncExternalStore(subscribe, () => store.pendingTotal().pending);
  const down = status === 'reconnecting' || status === 'offline';
  if (!down && waiting === 0) return null;
  return (
    <div className={`banner banner-${down ? status : 'waiting'}`} role="status" aria-live="polite">
      {down && TEXT[status]}{' '}
      {waiting > 0 ? (
        <span className="outbox-count">{plural(waiting, 'message', 'messages')} waiting to be sent.</span>
      ) : (
        'What you write will be sent when the connection is back.'
      )}
    </div>
  );
}
