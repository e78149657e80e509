/** Pure typing logic: the outgoing throttle and the incoming "who is typing" roster. */
import { TIMINGS } from '../../shared/limits.js';

export type TypingSignals = {
  start(): void;
  stop(): void;
};

export type TypingThrottleOptions = {
  now?: () => number;
  /** Minimum gap between two `start` signals while typing (the server ignores faster ones). */
  renewMs?: number;
  /** Silence after which typing stops on its own. */
  idleMs?: number;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
};

/**
 * Turns keystrokes into few signals: `start` on the first keystroke and at most once per
 * `renewMs` after it (the server's TTL keeps the indicator alive in between), `stop` after
 * `idleMs` of silence or when the message is sent.
 */
export function createTypingThrottle(signals: TypingSignals, options: TypingThrottleOptions = {}) {
  const now = options.now ?? Date.now;
  const renewMs = options.renewMs ?? TIMINGS.typingRenewMinMs;
  const idleMs = options.idleMs ?? 3_000;
  const setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
  const clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  let lastStartAt: number | null = null;
  let idleTimer: unknown = null;

  function stop() {
    if (idleTimer !== null) clearTimer(idleTimer);
    idleTimer = null;
    if (lastStartAt === null) return;
    lastStartAt = null;
    signals.stop();
  }

  return {
    /** Call on every keystroke (input event). */
    keystroke() {
      const at = now();
      if (lastStartAt === null || at - lastStartAt >= renewMs) {
        lastStartAt = at;
        signals.start();
      }
      if (idleTimer !== null) clearTimer(idleTimer);
      idleTimer = setTimer(stop, idleMs);
    },
    /** Call on send, on blur, on unmount. */
    stop,
    get typing() {
      return lastStartAt !== null;
    },
  };
}

/** userId → when their indicator expires if no new event arrives (a lost `stop` still ends). */
export type TypingRoster = ReadonlyMap<number, number>;

export function applyTypingEvent(
  roster: TypingRoster,
  event: { userId: number; typing: boolean },
  now: number,
  ttlMs: number = TIMINGS.typingTtlMs,
): TypingRoster {
  const next = new Map(roster);
  if (event.typing) next.set(event.userId, now + ttlMs);
  else next.delete(event.userId);
  return next;
}

/** Drops expired entries; returns the same map when nothing expired (cheap React bail-out). */
export function pruneTyping(roster: TypingRoster, now: number): TypingRoster {
  let expired = false;
  for (const until of roster.values()) if (until <= now) expired = true;
  if (!expired) return roster;
  return new Map([...roster].filter(([, until]) => until > now));
}

/** "Ann is typing…", "Ann and Bob are typing…", "Ann, Bob and 2 others are typing…", or "". */
export function typingLabel(names: readonly string[]): string {
  const [first, second] = names;
  if (first === undefined) return '';
  if (second === undefined) return `${first} is typing…`;
  if (names.length === 2) return `${first} and ${second} are typing…`;
  if (names.length === 3) return `${first}, ${second} and ${names[2]} are typing…`;
  return `${first}, ${second} and ${names.length - 2} others are typing…`;
}
