import type { ReactElement } from 'react';
import type { MessageItem } from '../../logic/messages.js';
import { dayLabel, startsNewDay } from '../../logic/format.js';
import type { ConnectionStatus } from '../../logic/connection.js';
import type { Message } from '../../trpc.js';
import { MessageText } from './MessageText.js';

/** A live "joined"/"left" line, shown after the newest message held when it happened. */
export type MemberLine = { key: string; afterSeq: number; userId: number; text: string };

type Props = {
  items: readonly MessageItem<Message>[];
  memberLines: readonly MemberLine[];
  me: number;
  isGroup: boolean;
  connection: ConnectionStatus;
  nameOf: (userId: number) => string;
  seenBy: (message: Message) => ReadonlyArray<{ id: number; username: string }>;
  retry: (clientMessageId: string) => void;
  discard: (clientMessageId: string) => void;
};

function Receipt({ message, isGroup, seenBy }: { message: Message; isGroup: boolean; seenBy: Props['seenBy'] }) {
  const readers = seenBy(message);
  if (readers.length === 0) return <span className="status">Sent</span>;
  if (!isGroup) return <span className="status">Seen</span>;
  const names = readers.map((reader) => reader.username).join(', ');
  // <details>: the names show on hover (title) and on tap (open), also for keyboards.
  return (
    <details className="status seen-by" title={`Seen by ${names}`}>
      <summary>Seen by {readers.length}</summary>
      <span>{names}</span>
    </details>
  );
}

export function MessageList({ items, memberLines, me, isGroup, connection, nameOf, seenBy, retry, discard }: Props) {
  const lastOwnStored = [...items].reverse().find((item) => item.kind === 'stored' && item.message.senderId === me);
  let previousDate: string | null = null;
  let lineIndex = 0;
  const rows: ReactElement[] = [];
  const pushLinesUpTo = (seq: number) => {
    while (lineIndex < memberLines.length && memberLines[lineIndex]!.afterSeq < seq) {
      const line = memberLines[lineIndex++]!;
      // Named at render time: a joiner's name arrives with the refetched member list.
      rows.push(<li key={line.key} className="member-line muted">{`${nameOf(line.userId)} ${line.text}`}</li>);
    }
  };

  for (const item of items) {
    const createdAt = item.kind === 'stored' ? item.message.createdAt : item.pending.createdAt;
    if (item.kind === 'stored') pushLinesUpTo(item.message.seq);
    else pushLinesUpTo(Number.POSITIVE_INFINITY);
    if (startsNewDay(previousDate, createdAt)) {
      rows.push(
        <li key={`day-${createdAt}`} className="day-separator" role="separator">
          <span>{dayLabel(createdAt)}</span>
        </li>,
      );
    }
    previousDate = createdAt;
    if (item.kind === 'pending') {
      const { pending } = item;
      rows.push(
        <li key={item.key} className={`message mine ${pending.status}`} data-status={pending.status}>
          <p className="bubble">
            <MessageText text={pending.content} />
          </p>
          {pending.status === 'pending' ? (
            <span className="status">{connection === 'online' ? 'Sending…' : 'Waiting for the connection…'}</span>
          ) : (
            <span className="status error">
              Not sent{pending.error ? `: ${pending.error}` : ''}{' '}
              <button type="button" className="link" onClick={() => retry(pending.clientMessageId)}>
                Retry
              </button>{' '}
              <button type="button" className="link" onClick={() => discard(pending.clientMessageId)}>
                Discard
              </button>
            </span>
          )}
        </li>,
      );
      continue;
    }
    const { message } = item;
    const mine = message.senderId === me;
    const seen = mine && seenBy(message).length > 0;
    rows.push(
      <li key={item.key} className={`message ${mine ? 'mine' : 'theirs'}`} data-seq={message.seq} data-status={mine ? (seen ? 'seen' : 'sent') : undefined}>
        {!mine && isGroup && <span className="sender">{nameOf(message.senderId)}</span>}
        <p className="bubble">
          <MessageText text={message.content} />
        </p>
        <time dateTime={message.createdAt} className="muted">
          {new Date(message.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
        </time>
        {item === lastOwnStored && <Receipt message={message} isGroup={isGroup} seenBy={seenBy} />}
      </li>,
    );
  }
  pushLinesUpTo(Number.POSITIVE_INFINITY);
  return <ol className="messages">{rows}</ol>;
}

