/** Maps the WebSocket client's state to the four states the UI shows. */
export type ConnectionStatus = 'connecting' | 'online' | 'reconnecting' | 'offline';

export type SocketState = {
  /** tRPC's connectionState: idle (closed on purpose or lazy), connecting, pending (open). */
  state: 'idle' | 'connecting' | 'pending';
  /** Set while reconnecting after a connection was lost. */
  hasError: boolean;
  /** Failed reconnect attempts since the connection was lost. */
  failedAttempts: number;
  /** `navigator.onLine`. */
  browserOnline: boolean;
  /** Whether the socket was open at least once. */
  everOpened: boolean;
};

/** After this many failed attempts the app says "offline" instead of "reconnecting". */
export const OFFLINE_AFTER_ATTEMPTS = 4;

export function connectionStatus(socket: SocketState): ConnectionStatus {
  // The browser knows the network is gone before the keepalive can tell: an "open" socket
  // then delivers nothing, so say offline at once.
  if (!socket.browserOnline) return 'offline';
  if (socket.state === 'pending') return 'online';
  if (socket.state === 'idle') return socket.everOpened ? 'offline' : 'connecting';
  if (!socket.hasError && !socket.everOpened) return 'connecting';
  return socket.failedAttempts >= OFFLINE_AFTER_ATTEMPTS ? 'offline' : 'reconnecting';
}
