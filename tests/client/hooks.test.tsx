// @vitest-environment jsdom
/**
 * The hooks inside a real RealtimeProvider (real tRPC client and links) with `fetch` answered
 * by a stub server: optimistic send with retries and de-duplication, and the typing throttle.
 */
import { act, cleanup, renderHook, waitFor } from '@testing-library/react';
import { useSyncExternalStore, type ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useSendMessage } from '../../src/client/hooks/useSendMessage.js';
import { useTyping } from '../../src/client/hooks/useTyping.js';
import { withPending } from '../../src/client/logic/messages.js';
import { RealtimeProvider, useRealtimeContext } from '../../src/client/RealtimeProvider.js';
import type { Message } from '../../src/client/trpc.js';

type Call = { path: string; input: unknown };
let calls: Call[] = [];
/** A procedure's error answer (the server refused). */
class Refusal {
  constructor(readonly code: string, readonly message: string) {}
}
/** Per procedure: a result, a Refusal, or an Error to fail the request at the network level. */
let answers: Record<string, (input: unknown) => unknown> = {};

function stubFetch() {
  return vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const parsed = new URL(String(url), 'http://localhost');
    const paths = parsed.pathname.replace(/^\/trpc\//, '').split(',');
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {};
    const results = paths.map((path, index) => {
      const input = body[String(index)];
      calls.push({ path, input });
      const answer = answers[path]?.(input) ?? null;
      if (answer instanceof Error) throw answer;
      if (answer instanceof Refusal) return { error: { message: answer.message, code: -32003, data: { code: answer.code, httpStatus: 403 } } };
      return { result: { data: answer } };
    });
    return new Response(JSON.stringify(results), { headers: { 'content-type': 'application/json' } });
  });
}

const wrapper = ({ children }: { children: ReactNode }) => (
  <RealtimeProvider url="http://127.0.0.1:9/trpc" outboxRetryDelayMs={() => 5}>
    {children}
  </RealtimeProvider>
);

beforeEach(() => {
  localStorage.clear();
  calls = [];
  answers = { 'auth.me': () => ({ id: 1, username: 'ann' }), 'conversation.list': () => [] };
  vi.stubGlobal('fetch', stubFetch());
});
// Testing Library unmounts by itself only with vitest's globals on; without it a provider left
// mounted keeps React's scheduler busy after jsdom is torn down ("window is not defined").
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function useSendHarness() {
  const send = useSendMessage(7);
  const { store, session } = useRealtimeContext();
  const snapshot = useSyncExternalStore(store.subscribe, () => store.get(7));
  return { ...send, signedIn: session.status === 'signedIn', items: withPending(snapshot.live, snapshot.pending) };
}

describe('useSendMessage', () => {
  it('shows a pending message, retries with the same clientMessageId, and shows it once when stored', async () => {
    let attempt = 0;
    answers['message.send'] = (input) => {
      const { conversationId, content, clientMessageId } = input as Message;
      if (++attempt < 3) return new TypeError('network down');
      return { id: 70, seq: 1, senderId: 1, conversationId, content, clientMessageId, createdAt: new Date(0).toISOString() };
    };
    const { result } = renderHook(useSendHarness, { wrapper });
    // Signing in (auth.me) replaces the client and remounts the tree: wait for it.
    await waitFor(() => expect(result.current?.signedIn).toBe(true));

    let sent: Promise<unknown> = Promise.resolve();
    act(() => {
      sent = result.current.send('hello');
    });
    expect(result.current.items).toMatchObject([{ kind: 'pending', pending: { content: 'hello', status: 'pending' } }]);
    await act(() => sent);

    const sends = calls.filter((call) => call.path === 'message.send');
    expect(sends).toHaveLength(3);
    expect(new Set(sends.map((call) => (call.input as Message).clientMessageId)).size).toBe(1);
    expect(result.current.items).toMatchObject([{ kind: 'stored', message: { id: 70, content: 'hello' } }]);
  });

  it('keeps a message pending (not failed) while the server cannot be reached, persisted for a reload', async () => {
    answers['message.send'] = () => new TypeError('network down');
    const { result } = renderHook(useSendHarness, { wrapper });
    await waitFor(() => expect(result.current?.signedIn).toBe(true));
    act(() => void result.current.send('first'));
    act(() => void result.current.send('second'));
    await waitFor(() => expect(calls.filter((call) => call.path === 'message.send').length).toBeGreaterThanOrEqual(3));
    expect(result.current.items).toMatchObject([
      { kind: 'pending', pending: { content: 'first', status: 'pending' } },
      { kind: 'pending', pending: { content: 'second', status: 'pending' } },
    ]);
    // Only the first is tried while it cannot go: the order holds.
    expect(new Set(calls.filter((call) => call.path === 'message.send').map((call) => (call.input as Message).content))).toEqual(new Set(['first']));
    expect(JSON.parse(localStorage.getItem('realtime-outbox:user:1') ?? '[]')).toMatchObject([{ content: 'first' }, { content: 'second' }]);
  });

  it('marks a refused message failed with the reason, and a manual retry reuses its id', async () => {
    answers['message.send'] = () => new Refusal('TOO_MANY_REQUESTS', 'Too many requests: try again in 7 s');
    const { result } = renderHook(useSendHarness, { wrapper });
    await waitFor(() => expect(result.current?.signedIn).toBe(true));
    await act(() => result.current.send('refused'));
    expect(result.current.items).toMatchObject([{ kind: 'pending', pending: { status: 'failed', error: expect.stringContaining('7 s') } }]);
    const item = result.current.items[0];
    const clientMessageId = item?.kind === 'pending' ? item.pending.clientMessageId : '';

    answers['message.send'] = (input) => ({ ...(input as Message), id: 71, seq: 2, senderId: 1, createdAt: new Date(0).toISOString() });
    await act(() => result.current.retry(clientMessageId));
    expect(result.current.items).toMatchObject([{ kind: 'stored', message: { id: 71, clientMessageId } }]);
    // Counted by id: the previous test's last (batched) request may still reach the stub late.
    expect(calls.filter((call) => call.path === 'message.send' && (call.input as Message).clientMessageId === clientMessageId)).toHaveLength(2);
  });
});

describe('useTyping', () => {
  it('sends one start for a burst of keystrokes and one stop on send', async () => {
    answers['typing.start'] = () => ({ ok: true });
    answers['typing.stop'] = () => ({ ok: true });
    const { result, unmount } = renderHook(() => ({ ...useTyping(7), session: useRealtimeContext().session }), { wrapper });
    await waitFor(() => expect(result.current?.session.status).toBe('signedIn'));
    act(() => {
      for (let i = 0; i < 8; i++) result.current.onKeystroke();
    });
    act(() => result.current.stop());
    await waitFor(() => expect(calls.filter((call) => call.path === 'typing.stop')).toHaveLength(1));
    expect(calls.filter((call) => call.path === 'typing.start')).toEqual([{ path: 'typing.start', input: { conversationId: 7 } }]);
    expect(result.current.label).toBe('');
    unmount();
  });
});
