import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { LIMITS } from '../../../shared/limits.js';
import { useConversation } from '../../hooks/useConversation.js';
import { usePresence } from '../../hooks/usePresence.js';
import { useReadReceipts } from '../../hooks/useReadReceipts.js';
import { useSendMessage } from '../../hooks/useSendMessage.js';
import { useTyping } from '../../hooks/useTyping.js';
import { readableError } from '../../logic/errors.js';
import type { Conversation, User } from '../../trpc.js';
import { GroupMembers } from './GroupMembers.js';

const NEAR_EDGE_PX = 48;

export function ChatWindow({ conversation, me, onClose }: { conversation: Conversation; me: User; onClose: () => void }) {
  const { items, messages, status, error, hasOlder, isLoadingOlder, fetchOlder } = useConversation(conversation.id);
  const { send, retry, discard } = useSendMessage(conversation.id);
  const typing = useTyping(conversation.id);
  const [atBottom, setAtBottom] = useState(true);
  const receipts = useReadReceipts(conversation.id, messages, { visible: atBottom });
  const peer = conversation.kind === 'direct' ? conversation.members.find((member) => member.id !== me.id) : undefined;
  const presence = usePresence(peer ? [peer.id] : []);
  const [draft, setDraft] = useState('');
  const [showMembers, setShowMembers] = useState(false);
  const log = useRef<HTMLDivElement>(null);
  const keepOffsetFromBottom = useRef<number | null>(null);

  // Keep the view pinned: at the bottom for new messages, in place when older ones load above.
  useLayoutEffect(() => {
    const element = log.current;
    if (!element) return;
    if (keepOffsetFromBottom.current !== null) {
      element.scrollTop = element.scrollHeight - keepOffsetFromBottom.current;
      keepOffsetFromBottom.current = null;
    } else if (atBottom) {
      element.scrollTop = element.scrollHeight;
    }
  }, [items, atBottom]);

  function onScroll() {
    const element = log.current;
    if (!element) return;
    setAtBottom(element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_EDGE_PX);
    if (element.scrollTop < NEAR_EDGE_PX && hasOlder && !isLoadingOlder) {
      keepOffsetFromBottom.current = element.scrollHeight - element.scrollTop;
      void fetchOlder();
    }
  }

  // Fill the window: if the first page does not overflow, fetch older right away.
  useEffect(() => {
    const element = log.current;
    if (element && status === 'success' && hasOlder && !isLoadingOlder && element.scrollHeight <= element.clientHeight) void fetchOlder();
  }, [status, hasOlder, isLoadingOlder, fetchOlder, items.length]);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const content = draft.trim();
    if (!content) return;
    typing.stop();
    setDraft('');
    setAtBottom(true);
    void send(content);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  const lastOwnStored = [...messages].reverse().find((message) => message.senderId === me.id);
  const nameOf = (userId: number) => conversation.members.find((member) => member.id === userId)?.username ?? 'Someone';

  return (
    <section className="chat" aria-labelledby="chat-title">
      <header className="chat-head">
        <button type="button" className="back" onClick={onClose} aria-label="Back to conversations">
          ←
        </button>
        <div>
          <h2 id="chat-title">{conversation.title}</h2>
          {peer && (
            <span className="muted" data-testid="peer-presence">
              {presence.isOnline(peer.id) ? 'online' : 'offline'}
            </span>
          )}
          {conversation.groupId !== null && <span className="muted">{conversation.members.length} members</span>}
        </div>
        {conversation.groupId !== null && (
          <button type="button" className="secondary" aria-expanded={showMembers} onClick={() => setShowMembers(!showMembers)}>
            Members
          </button>
        )}
      </header>
      {showMembers && conversation.groupId !== null && <GroupMembers groupId={conversation.groupId} me={me.id} onLeft={onClose} />}
      <div className="log" ref={log} onScroll={onScroll} role="log" aria-label={`Messages with ${conversation.title}`} aria-live="polite">
        {isLoadingOlder && <p className="muted centered-text">Loading older messages…</p>}
        {status === 'success' && !hasOlder && <p className="muted centered-text">Start of the conversation</p>}
        {status === 'pending' && <p className="muted centered-text">Loading…</p>}
        {error && <p role="alert" className="error">{readableError(error)}</p>}
        <ol className="messages">
          {items.map((item) => {
            if (item.kind === 'pending') {
              const { pending } = item;
              return (
                <li key={item.key} className={`message mine ${pending.status}`} data-status={pending.status}>
                  <p className="bubble">{pending.content}</p>
                  {pending.status === 'pending' ? (
                    <span className="status">Sending…</span>
                  ) : (
                    <span className="status error">
                      Failed{pending.error ? `: ${pending.error}` : ''}{' '}
                      <button type="button" className="link" onClick={() => void retry(pending.clientMessageId)}>
                        Retry
                      </button>{' '}
                      <button type="button" className="link" onClick={() => discard(pending.clientMessageId)}>
                        Discard
                      </button>
                    </span>
                  )}
                </li>
              );
            }
            const { message } = item;
            const mine = message.senderId === me.id;
            const state = mine ? receipts.stateOf(message) : null;
            return (
              <li key={item.key} className={`message ${mine ? 'mine' : 'theirs'}`} data-seq={message.seq} data-status={state ?? undefined}>
                {!mine && conversation.kind === 'group' && <span className="sender">{nameOf(message.senderId)}</span>}
                <p className="bubble">{message.content}</p>
                <time dateTime={message.createdAt} className="muted">
                  {new Date(message.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
                </time>
                {mine && message === lastOwnStored && <span className="status">{state === 'seen' ? 'Seen' : 'Sent'}</span>}
              </li>
            );
          })}
        </ol>
      </div>
      <p className="typing" aria-live="polite">
        {typing.label}
      </p>
      <form className="composer" onSubmit={submit}>
        <label htmlFor="composer-input" className="visually-hidden">
          Message
        </label>
        <textarea
          id="composer-input"
          rows={2}
          value={draft}
          maxLength={LIMITS.contentMax}
          placeholder="Write a message… (Enter to send, Shift+Enter for a new line)"
          onChange={(event) => {
            setDraft(event.target.value);
            if (event.target.value) typing.onKeystroke();
          }}
          onKeyDown={onKeyDown}
          onBlur={typing.stop}
        />
        <button type="submit" disabled={!draft.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}
