/**
 * One `conversation.events` subscription per conversation, shared by every hook that listens
 * (messages, typing, receipts), instead of one socket subscription per hook.
 */
export type StreamHandlers<E> = {
  onData(id: string | undefined, events: readonly E[]): void;
  onError(error: unknown): void;
};

/** Opens a subscription; returns its unsubscribe. */
export type OpenStream<E> = (key: number, lastEventId: string | null, handlers: StreamHandlers<E>) => () => void;

export type StreamListener<E> = {
  onEvents(events: readonly E[]): void;
  onError?(error: unknown): void;
  /** Resume after this event id (the newest message seq the listener already has). */
  lastEventId?: string | null;
};

type Stream<E> = {
  listeners: Set<StreamListener<E>>;
  close: () => void;
  /** Highest event id delivered (or resumed from); null when opened at "now". */
  position: number | null;
};

export function createStreamHub<E>(open: OpenStream<E>) {
  const streams = new Map<number, Stream<E>>();

  function start(key: number, stream: Stream<E>, lastEventId: string | null) {
    stream.position = lastEventId === null ? null : Number(lastEventId);
    const close = open(key, lastEventId, {
      onData(id, events) {
        if (streams.get(key) !== stream || stream.close !== close) return;
        if (id !== undefined) stream.position = Number(id);
        for (const listener of [...stream.listeners]) listener.onEvents(events);
      },
      onError(error) {
        for (const listener of [...stream.listeners]) listener.onError?.(error);
      },
    });
    stream.close = close;
  }

  return {
    /** Adds a listener, opening or (to replay older events it lacks) reopening the stream. */
    listen(key: number, listener: StreamListener<E>): () => void {
      const wanted = listener.lastEventId ?? null;
      let stream = streams.get(key);
      if (!stream) {
        stream = { listeners: new Set([listener]), close: () => {}, position: null };
        streams.set(key, stream);
        start(key, stream, wanted);
      } else {
        stream.listeners.add(listener);
        // The running stream may have started after this listener's snapshot: replay from its
        // position (listeners de-duplicate by id, so the others see repeats harmlessly).
        if (wanted !== null && (stream.position === null || Number(wanted) < stream.position)) {
          stream.close();
          start(key, stream, wanted);
        }
      }
      const current = stream;
      return () => {
        current.listeners.delete(listener);
        if (current.listeners.size === 0 && streams.get(key) === current) {
          streams.delete(key);
          current.close();
        }
      };
    },
    closeAll() {
      for (const stream of streams.values()) stream.close();
      streams.clear();
    },
    get size() {
      return streams.size;
    },
  };
}

export type StreamHub<E> = ReturnType<typeof createStreamHub<E>>;
