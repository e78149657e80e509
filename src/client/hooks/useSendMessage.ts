import { useCallback } from 'react';
import { newClientMessageId } from '../../shared/ids.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import type { Message } from '../trpc.js';

export { newClientMessageId };

/**
 * Sends to a conversation through the outbox: the message shows at once as pending (also while
 * offline, and after a reload), goes out in order with its original clientMessageId when the
 * server can be reached, and is marked failed only when the server refuses it.
 *
 * @example
 * const { send, retry, discard } = useSendMessage(conversationId);
 * await send('hello');            // pending → sent (resolves with the stored message)
 * retry(failed.clientMessageId);  // try a refused one again, same id
 */
export function useSendMessage(conversationId: number) {
  const { outbox, session } = useRealtimeContext();
  const senderId = session.user?.id ?? 0;

  const send = useCallback(
    (content: string): Promise<Message | null> =>
      outbox
        ? outbox.enqueue({
            clientMessageId: newClientMessageId(),
            conversationId,
            senderId,
            content,
            createdAt: new Date().toISOString(),
            status: 'pending',
            error: null,
          })
        : Promise.resolve(null),
    [outbox, conversationId, senderId],
  );

  const retry = useCallback((clientMessageId: string) => outbox?.retry(clientMessageId) ?? Promise.resolve(null), [outbox]);
  const discard = useCallback((clientMessageId: string) => outbox?.discard(clientMessageId), [outbox]);

  return { send, retry, discard };
}
