import { useEffect, useRef } from 'react';
import type { ConversationEvent } from '../../shared/events.js';
import { useRealtimeContext } from '../RealtimeProvider.js';

export type ConversationEventsOptions = {
  /** Replay messages after this seq first (the newest one already shown). */
  lastEventId?: string | null;
  /** Wait (e.g. for history) before listening. */
  enabled?: boolean;
};

/**
 * Listens to `conversation.events` through the provider's shared stream: every hook on the same
 * conversation shares one socket subscription, resumed by wsLink after a reconnect.
 */
export function useConversationEvents(
  conversationId: number | null,
  onEvents: (events: readonly ConversationEvent[]) => void,
  { lastEventId = null, enabled = true }: ConversationEventsOptions = {},
) {
  const { realtime } = useRealtimeContext();
  const handler = useRef(onEvents);
  handler.current = onEvents;
  // Only the first lastEventId matters: afterwards the stream itself tracks its position.
  const resumeFrom = useRef({ conversationId, lastEventId });
  if (!enabled || resumeFrom.current.conversationId !== conversationId) resumeFrom.current = { conversationId, lastEventId };

  useEffect(() => {
    if (conversationId === null || !enabled) return;
    return realtime.hub.listen(conversationId, {
      lastEventId: resumeFrom.current.lastEventId,
      onEvents: (events) => handler.current(events),
    });
  }, [realtime, conversationId, enabled]);
}
