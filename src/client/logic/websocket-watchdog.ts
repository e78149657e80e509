/**
 * A WebSocket whose `close()` always ends in a `close` event within `timeoutMs`.
 *
 * tRPC's keepalive notices a dead socket (no pong) and calls `ws.close()`, then waits for the
 * `close` event to reconnect. On a connection that died silently (network gone, laptop asleep)
 * the browser cannot complete the closing handshake and holds the socket in CLOSING until its
 * own timeout (about a minute in Chromium), so nothing reconnects and the app shows "online"
 * while receiving nothing. After `timeoutMs` this dispatches the `close` event itself; anything
 * the dead socket emits afterwards (its late real close, stray frames) is swallowed so the
 * client never acts on it twice.
 */
export function withCloseTimeout(Native: typeof WebSocket, timeoutMs: number): typeof WebSocket {
  return class WatchedWebSocket extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      let abandoned = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let synthetic: Event | null = null;
      // Registered first, so it runs before the client's listeners and can stop them.
      const swallowLate = (event: Event) => {
        if (abandoned && event !== synthetic) event.stopImmediatePropagation();
      };
      for (const type of ['close', 'message', 'error', 'open']) this.addEventListener(type, swallowLate);
      this.addEventListener('close', () => clearTimeout(timer));
      const nativeClose = this.close.bind(this);
      this.close = (code?: number, reason?: string) => {
        nativeClose(code, reason);
        if (timer !== undefined || this.readyState === Native.CLOSED) return;
        timer = setTimeout(() => {
          if (this.readyState === Native.CLOSED) return;
          synthetic = typeof CloseEvent === 'function'
            ? new CloseEvent('close', { code: 4000, reason: 'closing handshake timed out', wasClean: false })
            : new Event('close');
          abandoned = true;
          this.dispatchEvent(synthetic);
        }, timeoutMs);
      };
    }
  };
}
