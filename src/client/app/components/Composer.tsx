import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { LIMITS } from '../../../shared/limits.js';

/**
 * The message box: focused when the chat opens, Enter sends, Shift+Enter adds a line. Text over
 * the limit is not cut: a counter shows it and sending is refused until it is shortened.
 */
export function Composer({ onSend, onKeystroke, onStop }: { onSend: (content: string) => void; onKeystroke: () => void; onStop: () => void }) {
  const [draft, setDraft] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => input.current?.focus(), []);

  const length = draft.trim().length;
  const tooLong = length > LIMITS.contentMax;
  const showCounter = draft.length > LIMITS.contentMax * 0.9;

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const content = draft.trim();
    if (!content || tooLong) return;
    onStop();
    setDraft('');
    onSend(content);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-input" className="visually-hidden">
        Message
      </label>
      <textarea
        id="composer-input"
        ref={input}
        rows={2}
        value={draft}
        aria-invalid={tooLong || undefined}
        aria-describedby={showCounter ? 'composer-counter' : undefined}
        placeholder="Write a message… (Enter to send, Shift+Enter for a new line)"
        onChange={(event) => {
          setDraft(event.target.value);
          if (event.target.value) onKeystroke();
        }}
        onKeyDown={onKeyDown}
        onBlur={onStop}
      />
      <div className="composer-side">
        <button type="submit" disabled={length === 0 || tooLong}>
          Send
        </button>
        {showCounter && (
          <span id="composer-counter" className={tooLong ? 'counter error' : 'counter muted'} aria-live="polite">
            {length.toLocaleString()} / {LIMITS.contentMax.toLocaleString()}
            {tooLong && ' — too long to send'}
          </span>
        )}
      </div>
    </form>
  );
}
