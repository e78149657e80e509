import { describe, expect, it, vi } from 'vitest';
import { reconnectDelayMs, webSocketUrl } from '../../src/client/client.js';
import { connectionStatus, type SocketState } from '../../src/client/logic/connection.js';
import { createStreamHub, type StreamHandlers } from '../../src/client/logic/stream-hub.js';

describe('stream hub', () => {
  function setup() {
    const opened: Array<{ key: number; lastEventId: string | null; handlers: StreamHandlers<string>; closed: boolean }> = [];
    const hub = createStreamHub<string>((key, lastEventId, handlers) => {
      const entry = { key, lastEventId, handlers, closed: false };
      opened.push(entry);
      return () => void (entry.closed = true);
    });
    return { hub, opened };
  }

  it('shares one subscription per conversation and closes it with the last listener', () => {
    const { hub, opened } = setup();
    const a = vi.fn();
    const b = vi.fn();
    const offA = hub.listen(1, { onEvents: a });
    const offB = hub.listen(1, { onEvents: b });
    expect(opened).toHaveLength(1);
    opened[0]!.handlers.onData('4', ['x']);
    expect(a).toHaveBeenCalledWith(['x']);
    expect(b).toHaveBeenCalledWith(['x']);
    offA();
    expect(opened[0]!.closed).toBe(false);
    offB();
    expect(opened[0]!.closed).toBe(true);
  });

  it('reopens from an older position when a listener needs a replay', () => {
    const { hub, opened } = setup();
    hub.listen(1, { onEvents: () => {} }); // typing: no resume point
    opened[0]!.handlers.onData('10', ['live']);
    hub.listen(1, { onEvents: () => {}, lastEventId: '7' }); // history ended at 7
    expect(opened).toHaveLength(2);
    expect(opened[0]!.closed).toBe(true);
    expect(opened[1]!.lastEventId).toBe('7');
    hub.listen(1, { onEvents: () => {}, lastEventId: '9' }); // already covered
    expect(opened).toHaveLength(2);
  });

  it('ignores data from a stream it replaced', () => {
    const { hub, opened } = setup();
    const listener = vi.fn();
    hub.listen(1, { onEvents: listener });
    hub.listen(1, { onEvents: () => {}, lastEventId: '0' });
    opened[0]!.handlers.onData('1', ['stale']);
    expect(listener).not.toHaveBeenCalled();
  });
  it('accepts an OpenStream that calls back before it returns', () => {
    const closed: string[] = [];
    const received: string[][] = [];
    const hub = createStreamHub<string>((_key, lastEventId, handlers) => {
      // Replay delivered synchronously, inside open().
      handlers.onData('5', [`replayed after ${lastEventId}`]);
      return () => void closed.push('closed');
    });
    const off = hub.listen(1, { onEvents: (events) => received.push([...events]), lastEventId: '3' });
    expect(received).toEqual([['replayed after 3']]);
    expect(hub.positionOf(1)).toBe(5);
    off();
    expect(closed).toEqual(['closed']);
  });

  it('reopens a stream that ended with a retryable error from its position, not from now', () => {
    const { opened } = { opened: [] as Array<{ lastEventId: string | null; handlers: StreamHandlers<string> }> };
    const timers: Array<() => void> = [];
    const hub = createStreamHub<string>(
      (_key, lastEventId, handlers) => {
        opened.push({ lastEventId, handlers });
        return () => {};
      },
      { shouldReopen: (error) => error === 'lost', setTimer: (run) => void timers.push(run) },
    );
    hub.listen(1, { onEvents: () => {}, lastEventId: '2' });
    opened[0]!.handlers.onData('8', ['a']);
    opened[0]!.handlers.onError('lost');
    timers.shift()!();
    expect(opened.map((entry) => entry.lastEventId)).toEqual(['2', '8']);
    opened[1]!.handlers.onError('forbidden');
    expect(timers).toHaveLength(0);
  });
});

describe('connection status', () => {
  const base: SocketState = { state: 'connecting', hasError: false, failedAttempts: 0, browserOnline: true, everOpened: false };
  it('maps socket states to connecting / online / reconnecting / offline', () => {
    expect(connectionStatus(base)).toBe('connecting');
    expect(connectionStatus({ ...base, state: 'pending', everOpened: true })).toBe('online');
    expect(connectionStatus({ ...base, hasError: true, everOpened: true, failedAttempts: 1 })).toBe('reconnecting');
    expect(connectionStatus({ ...base, hasError: true, everOpened: true, failedAttempts: 6 })).toBe('offline');
    expect(connectionStatus({ ...base, browserOnline: false, everOpened: true })).toBe('offline');
    // An open socket while the browser says offline is not "online": it can deliver nothing.
    expect(connectionStatus({ ...base, state: 'pending', browserOnline: false, everOpened: true })).toBe('offline');
  });
});

describe('client helpers', () => {
  it('backs off exponentially up to 10 s', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10].map((attempt) => reconnectDelayMs(attempt, mid))).toEqual([250, 1000, 2000, 4000, 10000]);
  });

  it('derives the WebSocket URL from the page', () => {
    expect(webSocketUrl('/trpc', { protocol: 'https:', host: 'chat.example' })).toBe('wss://chat.example/trpc');
    expect(webSocketUrl('http://localhost:3000/trpc')).toBe('ws://localhost:3000/trpc');
  });
});
