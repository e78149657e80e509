import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { applyTypingEvent, createTypingThrottle, pruneTyping, typingLabel, type TypingRoster } from '../logic/typing.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import { trpc } from '../trpc.js';
import { useConversationEvents } from './useConversationEvents.js';

/**
 * Typing in one conversation: call `onKeystroke` on input (start is throttled, stop follows a
 * pause), `stop` on send; read who else is typing and a ready label.
 *
 * @example
 * const typing = useTyping(conversationId);
 * <textarea onInput={typing.onKeystroke} />
 * <p aria-live="polite">{typing.label}</p>   // "ann is typing…"
 */
export function useTyping(conversationId: number, { idleMs = 3_000 } = {}) {
  const { realtime } = useRealtimeContext();
  const [roster, setRoster] = useState<TypingRoster>(() => new Map());
  const conversations = trpc.conversation.list.useQuery(undefined, { staleTime: 30_000 });

  const throttle = useMemo(
    () =>
      createTypingThrottle(
        {
          start: () => void realtime.trpcClient.typing.start.mutate({ conversationId }).catch(() => {}),
          stop: () => void realtime.trpcClient.typing.stop.mutate({ conversationId }).catch(() => {}),
        },
        { idleMs },
      ),
    [realtime, conversationId, idleMs],
  );
  useEffect(() => () => throttle.stop(), [throttle]);
  useEffect(() => setRoster(new Map()), [conversationId]);

  useConversationEvents(conversationId, (events) => {
    setRoster((current) => {
      let next = current;
      for (const event of events) {
        if (event.type === 'typing') next = applyTypingEvent(next, event, Date.now());
        // A message ends its sender's typing even if the stop signal is still on its way.
        if (event.type === 'message' && next.has(event.message.senderId)) {
          next = applyTypingEvent(next, { userId: event.message.senderId, typing: false }, Date.now());
        }
      }
      return next;
    });
  });

  // Expire indicators whose stop never came (the server's TTL).
  useEffect(() => {
    if (roster.size === 0) return;
    const timer = setInterval(() => setRoster((current) => pruneTyping(current, Date.now())), 1_000);
    return () => clearInterval(timer);
  }, [roster.size]);

  const members = conversations.data?.find((conversation) => conversation.id === conversationId)?.members;
  const typingUserIds = useMemo(() => [...roster.keys()], [roster]);
  const names = typingUserIds.map((userId) => members?.find((member) => member.id === userId)?.username ?? 'Someone');

  return {
    typingUserIds,
    label: typingLabel(names),
    onKeystroke: useCallback(() => throttle.keystroke(), [throttle]),
    stop: useCallback(() => throttle.stop(), [throttle]),
  };
}
