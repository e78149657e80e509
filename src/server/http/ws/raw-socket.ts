import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * The one place that reaches into `ws`'s private TCP socket (`ws._socket`, present in ws 5-8).
 * The writer uses it for two things `ws` has no public API for: corking the socket for the rest of
 * a turn (so the frames one callback sends leave in one system call), and, when no extension was
 * negotiated (no permessage-deflate), writing a text frame's bytes built once for every
 * subscriber of an event instead of letting `ws` frame the same string per socket.
 *
 * Fallback: if a version of `ws` lacks `_socket`, `socket` is null and every frame goes through
 * `ws.send` uncorked (correct, only slower). `tests/ws-adapter.test.ts` checks that `textFrame`
 * is byte for byte what `ws`'s own Sender builds.
 */
export type RawSocket = {
  socket: Duplex | null;
  /** Frames may be written to `socket` as bytes (no extension transforms them). */
  framesAllowed: boolean;
};

export function rawSocketOf(ws: WebSocket): RawSocket {
  const socket = (ws as unknown as { _socket?: Duplex })._socket ?? null;
  return { socket, framesAllowed: socket !== null && ws.extensions === '' };
}
