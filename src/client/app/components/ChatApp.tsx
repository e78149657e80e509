import { useEffect } from 'react';
import { useConversationList, useUnreadCounts } from '../../hooks/useConversationList.js';
import { readableError } from '../../logic/errors.js';
import { useConnectionState, useSession } from '../../RealtimeProvider.js';
import { trpc, type User } from '../../trpc.js';
import { useChatRoute } from '../route.js';
import { ChatWindow } from './ChatWindow.js';
import { ConnectionBanner } from './ConnectionBanner.js';
import { ConversationList } from './ConversationList.js';
import { GroupsPanel } from './GroupsPanel.js';
import { NotificationBell } from './NotificationBell.js';
import { UserSearch } from './UserSearch.js';

export function ChatApp({ user }: { user: User }) {
  const { signOut } = useSession();
  const status = useConnectionState();
  const { conversations, error } = useConversationList();
  const { total } = useUnreadCounts();
  const [selectedId, setSelectedId] = useChatRoute();
  const openDirect = trpc.conversation.openDirect.useMutation();
  const utils = trpc.useUtils();
  const selected = conversations.find((conversation) => conversation.id === selectedId) ?? null;

  useEffect(() => {
    document.title = total > 0 ? `(${total}) Realtime chat` : 'Realtime chat';
  }, [total]);

  async function startChat(other: User) {
    const conversation = await openDirect.mutateAsync({ userId: other.id });
    utils.conversation.list.setData(undefined, (list) => (list?.some((item) => item.id === conversation.id) ? list : [conversation, ...(list ?? [])]));
    setSelectedId(conversation.id);
  }

  return (
    <div className={`app ${selected ? 'has-chat' : ''}`}>
      <header className="topbar">
        <h1>
          <span className="app-name">Realtime chat</span>
        </h1>
        <span className={`conn conn-${status}`} aria-label={`Connection: ${status}`} title={`Connection: ${status}`} />
        <NotificationBell onOpenConversation={setSelectedId} />
        <span className="me">{user.username}</span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <ConnectionBanner />
      <aside className="sidebar" aria-label="Conversations">
        <section aria-labelledby="new-chat-title">
          <h2 id="new-chat-title">New chat</h2>
          <UserSearch label="Find people" action="Chat with" onPick={(other) => void startChat(other)} />
          {openDirect.error && <p role="alert" className="error">{readableError(openDirect.error)}</p>}
        </section>
        <GroupsPanel onOpenConversation={setSelectedId} />
        {error && <p role="alert" className="error">{readableError(error)}</p>}
        <ConversationList conversations={conversations} selectedId={selectedId} onSelect={setSelectedId} me={user.id} />
      </aside>
      <main className="chat-area">
        {selected ? (
          <ChatWindow key={selected.id} conversation={selected} me={user} onClose={() => setSelectedId(null)} />
        ) : selectedId !== null && conversations.length > 0 ? (
          <p className="centered muted">This conversation is not in your list.</p>
        ) : (
          <p className="centered muted">Pick a conversation or start a new one.</p>
        )}
      </main>
    </div>
  );
}
