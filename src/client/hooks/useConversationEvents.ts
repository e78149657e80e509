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
 * conversation shares one socket subscription. wsLink re-sends the newest delivered id on every
 * reconnect, and the hub reopens a stream the server ended from the same position.
 */
export function useConversationEvents(
  conversationId: number | null,
  onEvents: (events: readonly ConversationEvent[]) => void,
  { lastEventId = null, enabled = true }: ConversationEventsOptions = {},
) {
  const { realtime } = useRealtimeContext();
  const handler = useRef(onEvents);
  handler.current = onEvents;
  // Read when the listener is (re)attached, so it resumes from what the caller holds *then*
  // (a ref set during an earlier, disabled render once made the chat start from null).
  const resumeFrom = useRef(lastEventId);
  resumeFrom.current = lastEventId;

  useEffect(() => {
    if (conversationId === null || !enabled) return;
    return realtime.hub.listen(conversationId, {
      lastEventId: resumeFrom.current,
      onEvents: (events) => handler.current(events),
    });
  }, [realtime, conversationId, enabled]);
}
