import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { WS_CLOSE } from './close-codes.js';
import { textFrame, type BuiltFrame } from './frames.js';
import { rawSocketOf } from './raw-socket.js';

const OPEN = 1;

/** How many bytes a socket may owe its client (queued, not yet taken by the kernel). */
export type OutputLimits = {
  /** Beyond this the socket is closed (`WS_CLOSE.notReading`): its client does not read. */
  maxBufferedBytes: number;
  /** Beyond this, ephemeral answers (typing, presence) are dropped instead of queued. */
  shedEphemeralAboveBytes: number;
};

/** After the close frame, how long a client that does not read gets before the socket is cut. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Everything written to one socket goes through here. It corks the socket until the current
 * callback and every promise it set off have run (a process.nextTick queued from a promise job
 * runs once the microtask queue is empty), so the frames a committed batch sends to one socket
 * leave in one write. Not setImmediate: from inside an immediate (the message writer commits in
 * one) that waits for the next turn of the event loop, a whole poll phase of reads later.
 *
 * It also bounds what the socket may owe as each frame is queued: ephemeral frames are shed
 * first, then the socket is closed.
 */
export class SocketWriter {
  private readonly socket: Duplex | null;
  /** Frames may be written to `socket` as bytes (see raw-socket.ts). */
  private readonly framesAllowed: boolean;
  private corked = false;
  private closing = false;
  /** Ephemeral frames dropped because the client was behind (diagnostics). */
  shedCount = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly limits: OutputLimits,
    private readonly onOverflow: (bufferedBytes: number) => void,
  ) {
    ({ socket: this.socket, framesAllowed: this.framesAllowed } = rawSocketOf(ws));
  }

  get open(): boolean {
    return this.ws.readyState === OPEN && !this.closing;
  }

  /** More is owed to the client than ephemeral frames may join. */
  isBehind(): boolean {
    return this.ws.bufferedAmount > this.limits.shedEphemeralAboveBytes;
  }

  /** One text frame. `ephemeral`: may be dropped while the client is behind. */
  write(text: string, ephemeral = false): void {
    if (!this.open || !this.admit(text.length, ephemeral)) return;
    const { socket } = this;
    if (!socket) return this.ws.send(text);
    this.cork(socket);
    if (this.framesAllowed) socket.write(textFrame(text));
    else this.ws.send(text);
  }

  /** A frame built once for several sockets: its bytes are made on first use and shared. */
  writeBuilt(built: BuiltFrame, ephemeral = false): void {
    if (!this.open || !this.admit(built.text.length, ephemeral)) return;
    const { socket } = this;
    if (!socket) return this.ws.send(built.text);
    this.cork(socket);
    if (this.framesAllowed) socket.write((built.frame ??= textFrame(built.text)));
    else this.ws.send(built.text);
  }

  /** False if the frame must not be queued: shed (ephemeral) or the socket is now closing. */
  private admit(length: number, ephemeral: boolean): boolean {
    const owed = this.ws.bufferedAmount;
    if (ephemeral && owed > this.limits.shedEphemeralAboveBytes) {
      this.shedCount++;
      return false;
    }
    if (owed + length <= this.limits.maxBufferedBytes) return true;
    this.closeNotReading(owed);
    return false;
  }

  private closeNotReading(owed: number) {
    this.closing = true;
    this.onOverflow(owed);
    this.ws.close(WS_CLOSE.notReading, 'not reading');
    // The close frame waits behind what is queued; a client that never reads never gets it.
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private cork(socket: Duplex) {
    if (this.corked) return;
    this.corked = true;
    socket.cork();
    process.nextTick(this.uncork);
  }

  private readonly uncork = () => {
    this.corked = false;
    const { socket } = this;
    if (socket && !socket.destroyed) socket.uncork();
  };
}
