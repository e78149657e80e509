import { useCallback } from 'react';
import { newClientMessageId } from '../../shared/ids.js';
import { isRetryable, readableError } from '../logic/errors.js';
import type { PendingMessage } from '../logic/messages.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import type { Message } from '../trpc.js';

export type SendOptions = {
  /** Attempts before a message is marked failed (default 4). */
  attempts?: number;
  /** Delay before retry n (1-based). */
  retryDelayMs?: (retry: number) => number;
};

export { newClientMessageId };

/**
 * Sends `send` up to `attempts` times with the same arguments, so a retry after a lost response
 * cannot duplicate (the server is idempotent by clientMessageId). Refusals are not retried.
 */
export async function sendWithRetry<T>(
  send: () => Promise<T>,
  { attempts = 4, retryDelayMs = (retry: number) => Math.min(500 * 2 ** (retry - 1), 4_000) }: SendOptions = {},
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await sleep(retryDelayMs(attempt));
    }
  }
}

/**
 * Sends to a conversation with an optimistic pending message (shown by `useConversation`),
 * retried on failure without duplicates, marked failed after the last attempt.
 *
 * @example
 * const { send, retry } = useSendMessage(conversationId);
 * await send('hello');            // pending → sent
 * retry(failed.clientMessageId);  // try a failed one again, same id
 */
export function useSendMessage(conversationId: number, options: SendOptions = {}) {
  const { store, realtime, session } = useRealtimeContext();
  const senderId = session.user?.id ?? 0;
  const { attempts, retryDelayMs } = options;

  const deliver = useCallback(
    async (pending: PendingMessage): Promise<Message | null> => {
      store.putPending({ ...pending, status: 'pending', error: null });
      try {
        const message = await sendWithRetry(
          () =>
            realtime.trpcClient.message.send.mutate({
              conversationId: pending.conversationId,
              content: pending.content,
              clientMessageId: pending.clientMessageId,
            }),
          { attempts, retryDelayMs },
        );
        store.addMessages(message.conversationId, [message]);
        store.removePending(pending.conversationId, pending.clientMessageId);
        return message;
      } catch (error) {
        store.putPending({ ...pending, status: 'failed', error: readableError(error) });
        return null;
      }
    },
    [store, realtime, attempts, retryDelayMs],
  );

  const send = useCallback(
    (content: string) =>
      deliver({
        clientMessageId: newClientMessageId(),
        conversationId,
        senderId,
        content,
        createdAt: new Date().toISOString(),
        status: 'pending',
        error: null,
      }),
    [deliver, conversationId, senderId],
  );

  const retry = useCallback(
    (clientMessageId: string) => {
      const pending = store.findPending(conversationId, clientMessageId);
      return pending ? deliver(pending) : Promise.resolve(null);
    },
    [deliver, store, conversationId],
  );

  const discard = useCallback(
    (clientMessageId: string) => store.removePending(conversationId, clientMessageId),
    [store, conversationId],
  );

  return { send, retry, discard };
}
