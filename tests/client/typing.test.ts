import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyTypingEvent, createTypingThrottle, pruneTyping, typingLabel } from '../../src/client/logic/typing.js';

describe('typing throttle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup() {
    const signals = { start: vi.fn(), stop: vi.fn() };
    const throttle = createTypingThrottle(signals, { now: () => Date.now(), renewMs: 1_000, idleMs: 3_000 });
    return { signals, throttle };
  }

  it('starts on the first keystroke and renews at most once per second', () => {
    const { signals, throttle } = setup();
    for (let i = 0; i < 25; i++) {
      throttle.keystroke();
      vi.advanceTimersByTime(100); // 10 keystrokes a second for 2.5 s
    }
    expect(signals.start).toHaveBeenCalledTimes(3); // at 0 s, 1 s, 2 s
    expect(signals.stop).not.toHaveBeenCalled();
  });

  it('stops by itself after a pause, once', () => {
    const { signals, throttle } = setup();
    throttle.keystroke();
    vi.advanceTimersByTime(2_999);
    expect(signals.stop).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(signals.stop).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(signals.stop).toHaveBeenCalledTimes(1);
    expect(throttle.typing).toBe(false);
  });

  it('stops at once on send, and starts afresh on the next keystroke', () => {
    const { signals, throttle } = setup();
    throttle.keystroke();
    throttle.stop();
    throttle.stop();
    expect(signals.stop).toHaveBeenCalledTimes(1);
    throttle.keystroke();
    expect(signals.start).toHaveBeenCalledTimes(2);
  });

  it('sends no stop when nothing was started', () => {
    const { signals, throttle } = setup();
    throttle.stop();
    expect(signals.stop).not.toHaveBeenCalled();
  });
});

describe('typing roster', () => {
  it('adds on start, removes on stop, and expires a lost stop after the TTL', () => {
    let roster = applyTypingEvent(new Map(), { userId: 2, typing: true }, 0, 6_000);
    roster = applyTypingEvent(roster, { userId: 3, typing: true }, 1_000, 6_000);
    expect([...roster.keys()]).toEqual([2, 3]);
    expect([...applyTypingEvent(roster, { userId: 2, typing: false }, 2_000).keys()]).toEqual([3]);
    expect([...pruneTyping(roster, 6_500).keys()]).toEqual([3]);
    expect(pruneTyping(roster, 5_000)).toBe(roster);
  });
});

describe('typingLabel', () => {
  it('names one, two, three or many typists', () => {
    expect(typingLabel([])).toBe('');
    expect(typingLabel(['Ann'])).toBe('Ann is typing…');
    expect(typingLabel(['Ann', 'Bob'])).toBe('Ann and Bob are typing…');
    expect(typingLabel(['Ann', 'Bob', 'Cy'])).toBe('Ann, Bob and Cy are typing…');
    expect(typingLabel(['Ann', 'Bob', 'Cy', 'Di'])).toBe('Ann, Bob and 2 others are typing…');
  });
});
