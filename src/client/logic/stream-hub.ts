/**
 * One `conversation.events` subscription per conversation, shared by every hook that listens
 * (messages, typing, receipts), instead of one socket subscription per hook.
 */
export type StreamHandlers<E> = {
  onData(id: string | undefined, events: readonly E[]): void;
  onError(error: unknown): void;
};

/** Opens a subscription; returns its unsubscribe. It may call its handlers before it returns. */
export type OpenStream<E> = (key: number, lastEventId: string | null, handlers: StreamHandlers<E>) => () => void;

export type StreamListener<E> = {
  onEvents(events: readonly E[]): void;
  onError?(error: unknown): void;
  /** Resume after this event id (the newest message seq the listener already has). */
  lastEventId?: string | null;
};

export type StreamHubOptions = {
  /** Whether a stream that ended with this error is reopened from its position (default: never). */
  shouldReopen?: (error: unknown) => boolean;
  /** Wait before reopening after an error. */
  reopenDelayMs?: number;
  setTimer?: (run: () => void, ms: number) => unknown;
};

type Stream<E> = {
  listeners: Set<StreamListener<E>>;
  /** The open subscription; replaced on every (re)open, so data from an older one is ignored. */
  current: { close: () => void };
  /** Highest event id delivered (or resumed from); null when opened at "now". */
  position: number | null;
};

export function createStreamHub<E>(open: OpenStream<E>, options: StreamHubOptions = {}) {
  const streams = new Map<number, Stream<E>>();
  const { shouldReopen = () => false, reopenDelayMs = 1_000, setTimer = (run, ms) => setTimeout(run, ms) } = options;

  const isLive = (key: number, stream: Stream<E>, handle: Stream<E>['current']) =>
    streams.get(key) === stream && stream.current === handle;

  function start(key: number, stream: Stream<E>, lastEventId: string | null) {
    stream.position = lastEventId === null ? null : Number(lastEventId);
    // The handle exists before `open` runs: an OpenStream that calls back synchronously must
    // find it (reading a not-yet-assigned `close` here once threw).
    let closed = false;
    let closeSubscription: (() => void) | null = null;
    const handle = {
      close: () => {
        closed = true;
        closeSubscription?.();
      },
    };
    stream.current = handle;
    const unsubscribe = open(key, lastEventId, {
      onData(id, events) {
        if (closed || !isLive(key, stream, handle)) return;
        if (id !== undefined) stream.position = Number(id);
        for (const listener of [...stream.listeners]) listener.onEvents(events);
      },
      onError(error) {
        if (closed || !isLive(key, stream, handle)) return;
        for (const listener of [...stream.listeners]) listener.onError?.(error);
        if (!shouldReopen(error)) return;
        // The subscription is over; resume from what was delivered, never from "now".
        setTimer(() => {
          if (!isLive(key, stream, handle)) return;
          handle.close();
          start(key, stream, stream.position === null ? null : String(stream.position));
        }, reopenDelayMs);
      },
    });
    if (closed) unsubscribe();
    else closeSubscription = unsubscribe;
  }

  return {
    /** Adds a listener, opening or (to replay older events it lacks) reopening the stream. */
    listen(key: number, listener: StreamListener<E>): () => void {
      const wanted = listener.lastEventId ?? null;
      let stream = streams.get(key);
      if (!stream) {
        stream = { listeners: new Set([listener]), current: { close: () => {} }, position: null };
        streams.set(key, stream);
        start(key, stream, wanted);
      } else {
        stream.listeners.add(listener);
        // The running stream may have started after this listener's snapshot: replay from its
        // position (listeners de-duplicate by id, so the others see repeats harmlessly).
        if (wanted !== null && (stream.position === null || Number(wanted) < stream.position)) {
          stream.current.close();
          start(key, stream, wanted);
        }
      }
      const owner = stream;
      return () => {
        owner.listeners.delete(listener);
        if (owner.listeners.size === 0 && streams.get(key) === owner) {
          streams.delete(key);
          owner.current.close();
        }
      };
    },
    /** The newest event id a conversation's stream has delivered (its resume cursor). */
    positionOf(key: number): number | null {
      return streams.get(key)?.position ?? null;
    },
    closeAll() {
      for (const stream of streams.values()) stream.current.close();
      streams.clear();
    },
    get size() {
      return streams.size;
    },
  };
}

export type StreamHub<E> = ReturnType<typeof createStreamHub<E>>;
