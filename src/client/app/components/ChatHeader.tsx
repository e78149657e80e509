import { usePresence } from '../../hooks/usePresence.js';
import { plural, timeAgo } from '../../logic/format.js';
import type { Conversation, User } from '../../trpc.js';

type Props = { conversation: Conversation; me: User; showMembers: boolean; onToggleMembers: () => void; onClose: () => void };

/** Title, the peer's presence ("last seen …") or the member count, and the members toggle. */
export function ChatHeader({ conversation, me, showMembers, onToggleMembers, onClose }: Props) {
  const peer = conversation.kind === 'direct' ? conversation.members.find((member) => member.id !== me.id) : undefined;
  const presence = usePresence(peer ? [peer.id] : []);
  const state = peer ? presence.stateOf(peer.id) : 'unknown';
  const lastSeen = peer ? presence.lastSeenAt(peer.id) : null;
  return (
    <header className="chat-head">
      <button type="button" className="back" onClick={onClose} aria-label="Back to conversations">
        ←
      </button>
      <div>
        <h2 id="chat-title">{conversation.title}</h2>
        {peer && (
          <span className="muted" data-testid="peer-presence" data-state={state}>
            {state === 'online' ? 'online' : state === 'unknown' ? 'status unknown while disconnected' : 'offline'}
            {state === 'offline' && lastSeen && <span className="last-seen"> · last seen {timeAgo(lastSeen)}</span>}
          </span>
        )}
        {conversation.groupId !== null && (
          <span className="muted" data-testid="header-member-count">
            {plural(conversation.members.length, 'member', 'members')}
          </span>
        )}
      </div>
      {conversation.groupId !== null && (
        <button type="button" className="secondary" aria-expanded={showMembers} onClick={onToggleMembers}>
          Members
        </button>
      )}
    </header>
  );
}
