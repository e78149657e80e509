import { skipToken } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ConversationEvent } from '../../shared/events.js';
import { newClientMessageId } from '../../shared/ids.js';
import { mergeMessages } from '../logic/messages.js';
import { applyTypingEvent, createTypingThrottle, pruneTyping, typingLabel, type TypingRoster } from '../logic/typing.js';
import type { ChatMessage, ChatProcedures } from './types.js';

type LiveState = { messages: ChatMessage[]; typing: TypingRoster; reads: ReadonlyMap<number, number> };
const emptyLive: LiveState = { messages: [], typing: new Map(), reads: new Map() };

function applyEvents(state: LiveState, events: readonly ConversationEvent[], now: number): LiveState {
  let { messages, typing, reads } = state;
  for (const event of events) {
    if (event.type === 'message') {
      messages = [...messages, event.message];
      // A message ends its sender's typing even if the stop signal is still on its way.
      if (typing.has(event.message.senderId)) typing = applyTypingEvent(typing, { userId: event.message.senderId, typing: false }, now);
    } else if (event.type === 'typing') typing = applyTypingEvent(typing, event, now);
    else if (event.type === 'read') reads = new Map(reads).set(event.userId, Math.max(reads.get(event.userId) ?? 0, event.lastReadSeq));
  }
  return { messages, typing, reads };
}

/**
 * One conversation through the host's tRPC client: the newest page of history, then live events
 * from after it (one subscription for messages, typing and receipts); send, typing signals, and
 * "Seen". Marks what it shows as read while `visible`.
 */
export function useChatConversation(chat: ChatProcedures, conversationId: number, { visible = true, pageSize = 50 } = {}) {
  const me = chat.auth.me.useQuery(undefined, { staleTime: Infinity }).data?.id ?? null;
  const history = chat.conversation.history.useQuery({ conversationId, limit: pageSize }, { staleTime: Infinity });
  const list = chat.conversation.list.useQuery(undefined, { staleTime: 30_000 });
  const members = useMemo(() => list.data?.find((item) => item.id === conversationId)?.members ?? [], [list.data, conversationId]);
  const [live, setLive] = useState<LiveState>(emptyLive);
  useEffect(() => setLive(emptyLive), [conversationId]);

  // Resume right after the history page: no gap, no duplicate (merged by id anyway).
  const resumeFrom = history.data ? String(history.data.messages[0]?.seq ?? 0) : null;
  chat.conversation.events.useSubscription(resumeFrom === null ? skipToken : { conversationId, lastEventId: resumeFrom }, {
    onData: ({ data }) => setLive((state) => applyEvents(state, data, Date.now())),
  });
  useEffect(() => {
    if (live.typing.size === 0) return;
    const timer = setInterval(() => setLive((state) => ({ ...state, typing: pruneTyping(state.typing, Date.now()) })), 1_000);
    return () => clearInterval(timer);
  }, [live.typing.size]);

  const messages = useMemo(() => mergeMessages([...(history.data?.messages ?? [])].reverse(), live.messages), [history.data, live.messages]);
  const readSeqOf = useCallback((userId: number, stored: number) => Math.max(stored, live.reads.get(userId) ?? 0), [live.reads]);
  const seenBy = useCallback(
    (message: ChatMessage) => members.filter((member) => member.id !== message.senderId && readSeqOf(member.id, member.lastReadSeq) >= message.seq),
    [members, readSeqOf],
  );

  const send = chat.message.send.useMutation();
  const read = chat.message.read.useMutation();
  const typingStart = chat.typing.start.useMutation();
  const typingStop = chat.typing.stop.useMutation();
  const signals = useRef({ typingStart, typingStop });
  signals.current = { typingStart, typingStop };
  const throttle = useMemo(
    () =>
      createTypingThrottle({
        start: () => signals.current.typingStart.mutate({ conversationId }),
        stop: () => signals.current.typingStop.mutate({ conversationId }),
      }),
    [conversationId],
  );
  useEffect(() => () => throttle.stop(), [throttle]);

  // "Seen": mark the newest message from others read once it is on screen.
  const markedUpTo = useRef(0);
  const newestFromOthers = [...messages].reverse().find((message) => message.senderId !== me);
  useEffect(() => {
    if (!visible || !newestFromOthers || newestFromOthers.seq <= markedUpTo.current) return;
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    markedUpTo.current = newestFromOthers.seq;
    read.mutate({ messageId: newestFromOthers.id }, { onError: () => (markedUpTo.current = 0) });
  }, [visible, newestFromOthers, read]);

  const typingNames = [...live.typing.keys()].map((userId) => members.find((member) => member.id === userId)?.username ?? 'Someone');
  return {
    me,
    messages,
    members,
    loading: history.isLoading,
    typingLabel: typingLabel(typingNames),
    seenBy,
    isSeen: (message: ChatMessage) => seenBy(message).length > 0,
    onKeystroke: () => throttle.keystroke(),
    async send(content: string) {
      throttle.stop();
      const message = await send.mutateAsync({ conversationId, content, clientMessageId: newClientMessageId() });
      setLive((state) => ({ ...state, messages: [...state.messages, message] }));
      return message;
    },
  };
}
