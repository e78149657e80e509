import { describe, expect, it } from 'vitest';
import { keepSubscribed } from '../../src/client/logic/keep-subscribed.js';

describe('keepSubscribed', () => {
  function setup(shouldRetry = (error: unknown) => error === 'hiccup') {
    const opened: Array<{ lastEventId: string | null; onData(id: string | undefined, data: string): void; onError(error: unknown): void; closed: boolean }> = [];
    const timers: Array<() => void> = [];
    const received: string[] = [];
    let reopened = 0;
    const stop = keepSubscribed<string>(
      (lastEventId, handlers) => {
        const entry = { lastEventId, ...handlers, closed: false };
        opened.push(entry);
        return () => void (entry.closed = true);
      },
      (data) => received.push(data),
      { lastEventId: '4', shouldRetry, onReopen: () => reopened++, setTimer: (run) => (timers.push(run), () => {}) },
    );
    return { opened, timers, received, stop, reopened: () => reopened };
  }

  it('reopens after a retryable error from the newest delivered id, and asks for a refetch', () => {
    const { opened, timers, received, reopened } = setup();
    opened[0]!.onData('7', 'a');
    opened[0]!.onError('hiccup');
    opened[0]!.onData('8', 'late'); // the ended subscription says nothing more
    timers.shift()!();
    expect(opened.map((entry) => entry.lastEventId)).toEqual(['4', '7']);
    expect(received).toEqual(['a']);
    expect(reopened()).toBe(1);
  });

  it('stays closed after a refusal, and closes the current subscription when stopped', () => {
    const { opened, timers, stop } = setup();
    opened[0]!.onError('forbidden');
    expect(timers).toHaveLength(0);
    stop();
    expect(opened[0]!.closed).toBe(true);
  });
});
