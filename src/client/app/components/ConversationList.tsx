import { usePresence, type PresenceState } from '../../hooks/usePresence.js';
import type { Conversation } from '../../trpc.js';

function otherMember(conversation: Conversation, me: number) {
  return conversation.kind === 'direct' ? conversation.members.find((member) => member.id !== me) ?? null : null;
}

export function PresenceDot({ state, name }: { state: PresenceState; name: string }) {
  const text = state === 'unknown' ? `${name}: status unknown while disconnected` : `${name} is ${state}`;
  return <span className={`dot dot-${state}`} role="img" aria-label={text} title={text} />;
}

export function ConversationList({
  conversations,
  selectedId,
  onSelect,
  me,
}: {
  conversations: Conversation[];
  selectedId: number | null;
  onSelect: (conversationId: number) => void;
  me: number;
}) {
  const peers = conversations.map((conversation) => otherMember(conversation, me)?.id).filter((id): id is number => id !== undefined);
  const presence = usePresence(peers);
  return (
    <nav aria-labelledby="conversations-title">
      <h2 id="conversations-title">Conversations</h2>
      {conversations.length === 0 && <p className="muted">No conversations yet.</p>}
      <ul className="conversations">
        {conversations.map((conversation) => {
          const peer = otherMember(conversation, me);
          const last = conversation.lastMessage;
          return (
            <li key={conversation.id}>
              <button
                type="button"
                className={`conversation ${conversation.id === selectedId ? 'selected' : ''}`}
                aria-current={conversation.id === selectedId ? 'true' : undefined}
                onClick={() => onSelect(conversation.id)}
              >
                {peer ? <PresenceDot state={presence.stateOf(peer.id)} name={peer.username} /> : <span className="group-icon" aria-hidden>#</span>}
                <span className="conversation-text">
                  <span className="conversation-title">{conversation.title}</span>
                  <span className="conversation-last">
                    {last ? `${last.senderId === me ? 'You: ' : ''}${last.content}` : 'No messages yet'}
                  </span>
                </span>
                {conversation.unreadCount > 0 && (
                  <span className="badge" aria-label={`${conversation.unreadCount} unread`}>
                    {conversation.unreadCount}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
