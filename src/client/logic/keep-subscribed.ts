/**
 * Keeps a tracked subscription open. A reconnect is wsLink's job (it re-sends the newest
 * delivered id); this covers the other way a subscription ends: the server ending it with an
 * error (a hiccup during replay, a restart mid-query). It reopens after a delay from the newest
 * id delivered, and calls `onReopen` so the view refetches what the stream does not replay.
 */
export type OpenTracked<D> = (
  lastEventId: string | null,
  handlers: { onData(id: string | undefined, data: D): void; onError(error: unknown): void },
) => () => void;

export type KeepSubscribedOptions = {
  lastEventId: string | null;
  shouldRetry(error: unknown): boolean;
  onError?(error: unknown): void;
  onReopen?(): void;
  retryDelayMs?: number;
  setTimer?: (run: () => void, ms: number) => () => void;
};

const defaultTimer = (run: () => void, ms: number) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

/** Returns the unsubscribe of whichever subscription is current. */
export function keepSubscribed<D>(open: OpenTracked<D>, onData: (data: D) => void, options: KeepSubscribedOptions): () => void {
  const { shouldRetry, retryDelayMs = 1_000, setTimer = defaultTimer } = options;
  let position = options.lastEventId;
  let stopped = false;
  let closeCurrent: () => void = () => {};
  let cancelTimer: () => void = () => {};

  function start() {
    let ended = false;
    const close = open(position, {
      onData(id, data) {
        if (stopped || ended) return;
        if (id !== undefined) position = id;
        onData(data);
      },
      onError(error) {
        if (stopped || ended) return;
        ended = true;
        options.onError?.(error);
        if (!shouldRetry(error)) return;
        cancelTimer = setTimer(() => {
          if (stopped) return;
          options.onReopen?.();
          start();
        }, retryDelayMs);
      },
    });
    if (stopped) close();
    else closeCurrent = close;
  }

  start();
  return () => {
    stopped = true;
    cancelTimer();
    closeCurrent();
  };
}
