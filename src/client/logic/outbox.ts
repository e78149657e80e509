/**
 * The outbox: messages written while the server cannot be reached wait here, in the order they
 * were written, persisted (localStorage) so a reload keeps them, and go out one at a time with
 * their original `clientMessageId` (the server stores each id once) when the connection returns.
 * Only a refusal by the server (validation, forbidden, rate limit) marks a message failed.
 */
import { errorCode, readableError } from './errors.js';
import type { PendingMessage } from './messages.js';

export type OutboxStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export type SendOutcome = { kind: 'transient' } | { kind: 'unauthorized' } | { kind: 'refused'; message: string };

/** A network failure or a server hiccup waits for the connection; anything the server refused fails. */
export function classifySendError(error: unknown): SendOutcome {
  const code = errorCode(error);
  if (code === null || code === 'INTERNAL_SERVER_ERROR' || code === 'TIMEOUT' || code === 'CLIENT_CLOSED_REQUEST') return { kind: 'transient' };
  if (code === 'UNAUTHORIZED') return { kind: 'unauthorized' };
  return { kind: 'refused', message: readableError(error) };
}

export type OutboxOptions<M> = {
  storage: OutboxStorage | null;
  storageKey: string;
  send(entry: PendingMessage): Promise<M>;
  /** Every change of the queue (to show it). */
  onChange(entries: readonly PendingMessage[]): void;
  onSent(message: M, entry: PendingMessage): void;
  onUnauthorized?(): void;
  /** Wait before trying again after a transient failure n (1-based) when nothing else wakes us. */
  retryDelayMs?: (failure: number) => number;
  setTimer?: (run: () => void, ms: number) => () => void;
};

/** Reads a persisted queue; anything unreadable is dropped rather than breaking the app. */
export function loadEntries(storage: OutboxStorage | null, key: string): PendingMessage[] {
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(key) ?? '[]');
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (item): item is PendingMessage =>
        typeof item === 'object' && item !== null && typeof item.clientMessageId === 'string' &&
        typeof item.conversationId === 'number' && typeof item.content === 'string',
    );
  } catch {
    return [];
  }
}

const defaultDelay = (failure: number) => Math.min(1_000 * 2 ** (failure - 1), 15_000);
const defaultTimer = (run: () => void, ms: number) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

export function createOutbox<M>(options: OutboxOptions<M>) {
  const { storage, storageKey, send, onChange, onSent, retryDelayMs = defaultDelay, setTimer = defaultTimer } = options;
  let entries = loadEntries(storage, storageKey).map((entry) => ({ ...entry, senderId: entry.senderId ?? 0 }));
  /** Every id this tab has held (loaded or written): the rest of the stored queue is another tab's. */
  const known = new Set(entries.map((entry) => entry.clientMessageId));
  const waiters = new Map<string, (message: M | null) => void>();
  let flushing = false;
  let failures = 0;
  let cancelTimer: (() => void) | null = null;
  let disposed = false;

  function commit(next: PendingMessage[]) {
    entries = next;
    for (const entry of entries) known.add(entry.clientMessageId);
    try {
      // Another tab of the same user shares the key: keep what it queued (ids this tab never
      // had), so neither overwrites the other's unsent messages.
      const others = loadEntries(storage, storageKey).filter((entry) => !known.has(entry.clientMessageId));
      const all = [...others, ...entries];
      if (all.length === 0) storage?.removeItem(storageKey);
      else storage?.setItem(storageKey, JSON.stringify(all));
    } catch {
      // Storage full or blocked: the queue still works for this page.
    }
    onChange(entries);
  }

  function settle(clientMessageId: string, message: M | null) {
    waiters.get(clientMessageId)?.(message);
    waiters.delete(clientMessageId);
  }

  async function flush() {
    if (flushing || disposed) return;
    flushing = true;
    try {
      for (;;) {
        const next = entries.find((entry) => entry.status === 'pending');
        if (!next || disposed) return;
        let message: M;
        try {
          message = await send(next);
        } catch (error) {
          if (disposed) return;
          const outcome = classifySendError(error);
          if (outcome.kind === 'refused') {
            commit(entries.map((entry) => (entry === next ? { ...entry, status: 'failed', error: outcome.message } : entry)));
            settle(next.clientMessageId, null);
            continue;
          }
          if (outcome.kind === 'unauthorized') options.onUnauthorized?.();
          // Keep it pending and keep the order: nothing after it goes first.
          failures += 1;
          cancelTimer?.();
          cancelTimer = setTimer(() => void flush(), retryDelayMs(failures));
          return;
        }
        failures = 0;
        commit(entries.filter((entry) => entry.clientMessageId !== next.clientMessageId));
        onSent(message, next);
        settle(next.clientMessageId, message);
      }
    } finally {
      flushing = false;
    }
  }

  onChange(entries);

  return {
    entries: () => entries,
    /** Queues a message and starts sending; resolves with the stored message, or null if it failed. */
    enqueue(entry: PendingMessage): Promise<M | null> {
      const result = new Promise<M | null>((resolve) => waiters.set(entry.clientMessageId, resolve));
      commit([...entries, { ...entry, status: 'pending', error: null }]);
      void flush();
      return result;
    },
    /** A failed message goes back in the queue with the same id. */
    retry(clientMessageId: string): Promise<M | null> {
      const result = new Promise<M | null>((resolve) => waiters.set(clientMessageId, resolve));
      commit(entries.map((entry) => (entry.clientMessageId === clientMessageId ? { ...entry, status: 'pending', error: null } : entry)));
      void flush();
      return result;
    },
    discard(clientMessageId: string) {
      commit(entries.filter((entry) => entry.clientMessageId !== clientMessageId));
      settle(clientMessageId, null);
    },
    /** The connection is back (or the page is online again): try at once. */
    wake() {
      cancelTimer?.();
      cancelTimer = null;
      failures = 0;
      void flush();
    },
    dispose() {
      disposed = true;
      cancelTimer?.();
      for (const id of [...waiters.keys()]) settle(id, null);
    },
  };
}

export type Outbox<M> = ReturnType<typeof createOutbox<M>>;
