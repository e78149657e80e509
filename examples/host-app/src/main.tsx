/**
 * The host's React page: its own tRPC client (one), WebSocket (one) and QueryClient (one), with
 * the chat's hooks made from `trpc.chat`.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import { createTRPCReact } from '@trpc/react-query';
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createChatHooks } from 'trpc-social-realtime/client';
import type { HostRouter } from './server.js';

const trpc = createTRPCReact<HostRouter>();
const chat = createChatHooks(trpc.chat);

const wsClient = createWSClient({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/socket` });
const trpcClient = trpc.createClient({
  links: [splitLink({ condition: (op) => op.type === 'subscription', true: wsLink({ client: wsClient }), false: httpBatchLink({ url: '/api' }) })],
});
const queryClient = new QueryClient();

function SignIn() {
  return (
    <form method="post" action="/login">
      <input name="name" placeholder="name" aria-label="name" />
      <input name="password" type="password" placeholder="password" aria-label="password" />
      <button type="submit">Sign in</button>
    </form>
  );
}

function Notifications() {
  const { notifications, unreadCount } = chat.useNotifications();
  return (
    <section aria-label="notifications">
      <h2>Notifications ({unreadCount})</h2>
      <ul>
        {notifications.map((notification) => (
          <li key={notification.id}>{notification.content.title}</li>
        ))}
      </ul>
    </section>
  );
}

function Chat({ conversationId }: { conversationId: number }) {
  const conversation = chat.useConversation(conversationId);
  const [draft, setDraft] = useState('');
  const mine = conversation.messages.filter((message) => message.senderId === conversation.me);
  const lastMine = mine.at(-1);
  return (
    <section aria-label="chat">
      <ol>
        {conversation.messages.map((message) => (
          <li key={message.id} className={message.senderId === conversation.me ? 'mine' : 'theirs'}>
            {message.content}
          </li>
        ))}
      </ol>
      {lastMine && conversation.isSeen(lastMine) ? <p className="seen">Seen</p> : null}
      <p aria-live="polite" className="typing">{conversation.typingLabel}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const content = draft.trim();
          if (!content) return;
          setDraft('');
          void conversation.send(content);
        }}
      >
        <input
          aria-label="message"
          value={draft}
          onChange={(event) => {
            setDraft(event.target.value);
            conversation.onKeystroke();
          }}
        />
        <button type="submit">Send</button>
      </form>
    </section>
  );
}

function Home({ name }: { name: string }) {
  const people = trpc.people.useQuery();
  const openDirect = trpc.chat.conversation.openDirect.useMutation();
  const like = trpc.likePost.useMutation();
  const [conversationId, setConversationId] = useState<number | null>(null);
  return (
    <main>
      <h1>Hello {name}</h1>
      <ul aria-label="people">
        {people.data?.map((person) => (
          <li key={person.id}>
            {person.name}{' '}
            <button onClick={async () => setConversationId((await openDirect.mutateAsync({ userId: person.chatUserId })).id)}>Chat with {person.name}</button>{' '}
            <button onClick={() => like.mutate({ authorId: person.id })}>Like {person.name}'s post</button>
          </li>
        ))}
      </ul>
      <Notifications />
      {conversationId !== null ? <Chat conversationId={conversationId} /> : null}
    </main>
  );
}

function App() {
  const me = trpc.me.useQuery();
  if (me.isLoading) return <p>Loading…</p>;
  return me.data ? <Home name={me.data.name} /> : <SignIn />;
}

createRoot(document.getElementById('root')!).render(
  <trpc.Provider client={trpcClient} queryClient={queryClient}>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </trpc.Provider>,
);
