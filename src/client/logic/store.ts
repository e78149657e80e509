/**
 * Per-conversation client state shared by hooks: messages that arrived live or from a send, and
 * optimistic messages not yet confirmed. An external store (useSyncExternalStore) so
 * `useSendMessage` and `useConversation` can live in different components.
 */
import type { PendingMessage, SequencedMessage } from './messages.js';
import { mergeMessages } from './messages.js';

export type ConversationSnapshot<M extends SequencedMessage> = {
  live: readonly M[];
  pending: readonly PendingMessage[];
};

export function createConversationStore<M extends SequencedMessage>() {
  const snapshots = new Map<number, ConversationSnapshot<M>>();
  const listeners = new Set<() => void>();
  const empty: ConversationSnapshot<M> = { live: [], pending: [] };

  function update(conversationId: number, change: (current: ConversationSnapshot<M>) => ConversationSnapshot<M>) {
    const current = snapshots.get(conversationId) ?? empty;
    const next = change(current);
    if (next === current) return;
    snapshots.set(conversationId, next);
    for (const listener of listeners) listener();
  }

  return {
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    get(conversationId: number): ConversationSnapshot<M> {
      return snapshots.get(conversationId) ?? empty;
    },
    /** Adds stored messages (live events, send results); duplicates by id are merged away. */
    addMessages(conversationId: number, messages: readonly M[]) {
      if (messages.length === 0) return;
      update(conversationId, (current) => ({ ...current, live: mergeMessages(current.live, messages) }));
    },
    putPending(pending: PendingMessage) {
      update(pending.conversationId, (current) => ({
        ...current,
        pending: [...current.pending.filter((item) => item.clientMessageId !== pending.clientMessageId), pending],
      }));
    },
    removePending(conversationId: number, clientMessageId: string) {
      update(conversationId, (current) =>
        current.pending.some((item) => item.clientMessageId === clientMessageId)
          ? { ...current, pending: current.pending.filter((item) => item.clientMessageId !== clientMessageId) }
          : current,
      );
    },
    /** Shows the outbox: every conversation's pending list becomes exactly its entries, in order. */
    replacePending(entries: readonly PendingMessage[]) {
      const ids = new Set([...snapshots.keys(), ...entries.map((entry) => entry.conversationId)]);
      for (const conversationId of ids) {
        const mine = entries.filter((entry) => entry.conversationId === conversationId);
        update(conversationId, (current) =>
          current.pending.length === 0 && mine.length === 0 ? current : { ...current, pending: mine },
        );
      }
    },
    /** Messages not yet stored by the server (pending or failed), over all conversations. */
    pendingTotal(): { pending: number; failed: number } {
      let pending = 0;
      let failed = 0;
      for (const snapshot of snapshots.values()) {
        for (const item of snapshot.pending) item.status === 'failed' ? failed++ : pending++;
      }
      return { pending, failed };
    },
    findPending(conversationId: number, clientMessageId: string): PendingMessage | undefined {
      return snapshots.get(conversationId)?.pending.find((item) => item.clientMessageId === clientMessageId);
    },
    clear() {
      snapshots.clear();
      for (const listener of listeners) listener();
    },
  };
}

export type ConversationStore<M extends SequencedMessage> = ReturnType<typeof createConversationStore<M>>;
