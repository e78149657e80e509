import { describe, expect, it } from 'vitest';
import { applyInboxEvents } from '../../src/client/hooks/useConversationList.js';
import { deliveryState, mergeMessages, newestSeq, withPending, type PendingMessage } from '../../src/client/logic/messages.js';
import { createConversationStore } from '../../src/client/logic/store.js';
import type { Conversation, Message } from '../../src/client/trpc.js';

const message = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: 100 + seq,
  conversationId: 1,
  seq,
  senderId: 1,
  content: `m${seq}`,
  clientMessageId: `c${seq}`,
  createdAt: new Date(0).toISOString(),
  ...extra,
});

const pending = (clientMessageId: string, extra: Partial<PendingMessage> = {}): PendingMessage => ({
  clientMessageId,
  conversationId: 1,
  senderId: 1,
  content: 'hi',
  createdAt: new Date(0).toISOString(),
  status: 'pending',
  error: null,
  ...extra,
});

describe('mergeMessages', () => {
  it('orders by seq and keeps each id once across history pages and live events', () => {
    const newestPage = [message(5), message(4), message(3)];
    const olderPage = [message(3), message(2), message(1)];
    const live = [message(6), message(5), message(7), message(6)];
    const merged = mergeMessages(newestPage, olderPage, live);
    expect(merged.map((item) => item.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('lets a later list win for the same id (a fresher copy)', () => {
    const merged = mergeMessages([message(1, { content: 'old' })], [message(1, { content: 'new' })]);
    expect(merged).toHaveLength(1);
    expect(merged[0]?.content).toBe('new');
  });

  it('newestSeq is the resume point, null when empty', () => {
    expect(newestSeq([message(3), message(9), message(4)])).toBe(9);
    expect(newestSeq([])).toBeNull();
  });
});

describe('withPending', () => {
  it('shows an optimistic message after the stored ones until the server confirms it', () => {
    const items = withPending([message(1)], [pending('new-1')]);
    expect(items.map((item) => item.kind)).toEqual(['stored', 'pending']);
  });

  it('drops a pending message once its clientMessageId arrived (stream echo or send result)', () => {
    const items = withPending([message(1), message(2, { clientMessageId: 'new-1' })], [pending('new-1')]);
    expect(items.map((item) => item.key)).toEqual(['m101', 'm102']);
  });

  it('does not confuse another sender using the same clientMessageId', () => {
    const items = withPending([message(2, { clientMessageId: 'same', senderId: 2 })], [pending('same', { senderId: 1 })]);
    expect(items).toHaveLength(2);
  });
});

describe('conversation store', () => {
  it('a retried send that arrives both live and as the mutation result shows once', () => {
    const store = createConversationStore<Message>();
    store.putPending(pending('retry-me'));
    store.putPending(pending('retry-me', { status: 'failed', error: 'offline' }));
    store.putPending(pending('retry-me'));
    expect(store.get(1).pending).toHaveLength(1);

    const stored = message(3, { clientMessageId: 'retry-me' });
    store.addMessages(1, [stored]); // the live event
    store.addMessages(1, [stored]); // the mutation result
    store.removePending(1, 'retry-me');
    const snapshot = store.get(1);
    expect(withPending(snapshot.live, snapshot.pending).map((item) => item.key)).toEqual(['m103']);
  });

  it('keeps the snapshot identity when nothing changed (no needless renders)', () => {
    const store = createConversationStore<Message>();
    const before = store.get(1);
    store.removePending(1, 'absent');
    store.addMessages(1, []);
    expect(store.get(1)).toBe(before);
  });
});

describe('deliveryState', () => {
  it('is "seen" once another member read up to the message', () => {
    const members = [
      { id: 1, lastReadSeq: 9 },
      { id: 2, lastReadSeq: 4 },
    ];
    expect(deliveryState({ seq: 4, senderId: 1 }, members)).toBe('seen');
    expect(deliveryState({ seq: 5, senderId: 1 }, members)).toBe('sent');
  });
});

describe('applyInboxEvents', () => {
  const conversation = (id: number, extra: Partial<Conversation> = {}): Conversation => ({
    id,
    kind: 'direct',
    groupId: null,
    title: `c${id}`,
    members: [],
    lastMessage: null,
    unreadCount: 0,
    lastReadSeq: 0,
    ...extra,
  });

  it('moves a conversation with a new message to the top with its unread count', () => {
    const next = applyInboxEvents([conversation(1), conversation(2)], [
      { type: 'message', message: message(1, { conversationId: 2 }), unreadCount: 3 },
    ]);
    expect(next.map((item) => item.id)).toEqual([2, 1]);
    expect(next[0]?.unreadCount).toBe(3);
  });

  it('adds new conversations once, applies reads and removals', () => {
    const next = applyInboxEvents([conversation(1, { unreadCount: 2 })], [
      { type: 'conversation', conversation: conversation(5) },
      { type: 'conversation', conversation: conversation(5) },
      { type: 'read', conversationId: 1, lastReadSeq: 7, unreadCount: 0 },
      { type: 'removed', conversationId: 5 },
    ]);
    expect(next).toEqual([conversation(1, { lastReadSeq: 7, unreadCount: 0 })]);
  });
});
