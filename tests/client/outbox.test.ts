import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { friendlyIssue, readableError } from '../../src/client/logic/errors.js';
import { resumeCursor, type PendingMessage } from '../../src/client/logic/messages.js';
import { classifySendError, createOutbox, loadEntries, type OutboxStorage } from '../../src/client/logic/outbox.js';

function memoryStorage(): OutboxStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (key) => data.get(key) ?? null, setItem: (key, value) => void data.set(key, value), removeItem: (key) => void data.delete(key) };
}

const entry = (clientMessageId: string, conversationId = 1): PendingMessage => ({
  clientMessageId,
  conversationId,
  senderId: 1,
  content: `text ${clientMessageId}`,
  createdAt: new Date(0).toISOString(),
  status: 'pending',
  error: null,
});

const refusal = (code: string, message: string) => TRPCClientError.from({ error: { message, code: -32003, data: { code } } } as never);

/** An outbox whose sends succeed only while `up` is true; timers run when the test says so. */
function setup(storage = memoryStorage()) {
  const state = { up: false, attempts: [] as string[], sent: [] as string[], timers: [] as Array<() => void>, shown: [] as string[][], refuse: new Set<string>() };
  const outbox = createOutbox<{ clientMessageId: string }>({
    storage,
    storageKey: 'outbox',
    send: async (item) => {
      state.attempts.push(item.clientMessageId);
      if (state.refuse.has(item.clientMessageId)) throw refusal('BAD_REQUEST', 'too long');
      if (!state.up) throw new TypeError('Failed to fetch');
      state.sent.push(item.clientMessageId);
      return { clientMessageId: item.clientMessageId };
    },
    onChange: (entries) => state.shown.push(entries.map((item) => `${item.clientMessageId}:${item.status}`)),
    onSent: () => {},
    setTimer: (run) => {
      state.timers.push(run);
      return () => {};
    },
  });
  return { outbox, state, storage };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('outbox', () => {
  it('keeps messages written while unreachable pending, in order, and sends each once on wake', async () => {
    const { outbox, state } = setup();
    void outbox.enqueue(entry('a'));
    void outbox.enqueue(entry('b', 2));
    void outbox.enqueue(entry('c'));
    await settle();
    expect(outbox.entries().map((item) => item.status)).toEqual(['pending', 'pending', 'pending']);
    state.up = true;
    outbox.wake();
    await settle();
    expect(state.sent).toEqual(['a', 'b', 'c']);
    expect(outbox.entries()).toEqual([]);
    outbox.wake();
    await settle();
    expect(state.sent).toEqual(['a', 'b', 'c']);
  });

  it('survives a reload: a new outbox on the same storage sends what the old one kept', async () => {
    const first = setup();
    void first.outbox.enqueue(entry('a'));
    void first.outbox.enqueue(entry('b'));
    await settle();
    first.outbox.dispose();
    expect(loadEntries(first.storage, 'outbox').map((item) => item.clientMessageId)).toEqual(['a', 'b']);

    const second = setup(first.storage);
    expect(second.outbox.entries().map((item) => item.clientMessageId)).toEqual(['a', 'b']);
    second.state.up = true;
    second.outbox.wake();
    await settle();
    expect(second.state.sent).toEqual(['a', 'b']);
    expect(first.storage.data.has('outbox')).toBe(false);
  });

  it('retries by itself after a backoff, and fails only what the server refuses', async () => {
    const { outbox, state } = setup();
    state.refuse.add('bad');
    void outbox.enqueue(entry('bad'));
    void outbox.enqueue(entry('good'));
    await settle();
    expect(outbox.entries().map((item) => `${item.clientMessageId}:${item.status}`)).toEqual(['bad:failed', 'good:pending']);
    expect(outbox.entries()[0]?.error).toBe('too long');
    state.up = true;
    state.timers.shift()?.();
    await settle();
    expect(state.sent).toEqual(['good']);
    // The refusal was tried once; the network failure again until it went through, same id.
    expect(state.attempts).toEqual(['bad', 'good', 'good']);
    outbox.discard('bad');
    expect(outbox.entries()).toEqual([]);
  });

  it("two tabs of one user keep each other's unsent messages in the shared storage", async () => {
    const storage = memoryStorage();
    const tabA = setup(storage);
    const tabB = setup(storage);
    void tabA.outbox.enqueue(entry('from-a'));
    void tabB.outbox.enqueue(entry('from-b'));
    await settle();
    expect(loadEntries(storage, 'outbox').map((item) => item.clientMessageId).sort()).toEqual(['from-a', 'from-b']);
    tabA.state.up = true;
    tabA.outbox.wake();
    await settle();
    expect(tabA.state.sent).toEqual(['from-a']);
    expect(loadEntries(storage, 'outbox').map((item) => item.clientMessageId)).toEqual(['from-b']);
  });

  it('ignores unreadable storage', () => {
    const storage = memoryStorage();
    storage.setItem('outbox', '{not json');
    expect(loadEntries(storage, 'outbox')).toEqual([]);
    storage.setItem('outbox', JSON.stringify([{ clientMessageId: 1 }, entry('ok')]));
    expect(loadEntries(storage, 'outbox').map((item) => item.clientMessageId)).toEqual(['ok']);
  });

  it('classifies send errors: network and server hiccups wait, refusals fail', () => {
    expect(classifySendError(new TypeError('Failed to fetch'))).toEqual({ kind: 'transient' });
    expect(classifySendError(refusal('INTERNAL_SERVER_ERROR', 'x'))).toEqual({ kind: 'transient' });
    expect(classifySendError(refusal('UNAUTHORIZED', 'x'))).toEqual({ kind: 'unauthorized' });
    expect(classifySendError(refusal('FORBIDDEN', 'Not a member'))).toEqual({ kind: 'refused', message: 'Not a member' });
    expect(classifySendError(refusal('TOO_MANY_REQUESTS', 'Too many requests: try again in 3 s'))).toEqual({
      kind: 'refused',
      message: 'Too many attempts. Try again in 3 seconds.',
    });
  });
});

describe('resume cursor', () => {
  const at = (...seqs: number[]) => seqs.map((seq) => ({ id: seq, seq, clientMessageId: `c${seq}`, senderId: 1 }));
  it('is the newest seq held without a gap', () => {
    expect(resumeCursor([])).toBeNull();
    expect(resumeCursor(at(5, 6, 7))).toBe(7);
    // Our own message 12 came back from a send while others' 9-11 were not delivered yet.
    expect(resumeCursor(at(5, 6, 7, 8, 12))).toBe(8);
  });
});

describe('readable validation errors', () => {
  it('turns zod issues into sentences', () => {
    expect(friendlyIssue({ code: 'too_small', minimum: 8, origin: 'string', path: ['password'] })).toBe('Password must be at least 8 characters.');
    expect(friendlyIssue({ code: 'too_big', maximum: 4000, origin: 'string', path: ['content'] })).toBe('Message must be at most 4000 characters.');
    expect(friendlyIssue({ code: 'invalid_format', path: ['username'] })).toMatch(/letters, digits/);
    const zodText = JSON.stringify([{ code: 'too_small', minimum: 8, origin: 'string', path: ['password'], message: 'Too small: expected string to have >=8 characters' }]);
    expect(readableError(refusal('BAD_REQUEST', zodText))).toBe('Password must be at least 8 characters.');
  });
});
