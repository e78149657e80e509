import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { ConversationEvent } from '../shared/events.js';
import { createRealtimeClient, type RealtimeClient } from './client.js';
import { connectionStatus, type ConnectionStatus, type SocketState } from './logic/connection.js';
import { isUnauthorized } from './logic/errors.js';
import { createConversationStore, type ConversationStore } from './logic/store.js';
import { createStreamHub, type StreamHub } from './logic/stream-hub.js';
import { trpc, type Credentials, type Message, type User } from './trpc.js';

export type Session =
  | { status: 'loading'; user: null }
  | { status: 'signedOut'; user: null }
  | { status: 'signedIn'; user: User };

type Realtime = RealtimeClient & {
  /** Which session this client belongs to: a new sign-in gets a new socket. */
  sessionKey: string;
  hub: StreamHub<ConversationEvent>;
};

type RealtimeContextValue = {
  session: Session;
  status: ConnectionStatus;
  realtime: Realtime;
  store: ConversationStore<Message>;
  signIn(mode: 'login' | 'register', credentials: Credentials): Promise<User>;
  signOut(): Promise<void>;
  /** Called when the server says the session is gone (expired, signed out elsewhere). */
  sessionExpired(): void;
};

const RealtimeContext = createContext<RealtimeContextValue | null>(null);

export type RealtimeProviderProps = {
  children: ReactNode;
  /** API base (default `/trpc`, same origin). */
  url?: string;
};

const initialSocket: SocketState = { state: 'connecting', hasError: false, failedAttempts: 0, browserOnline: true, everOpened: false };

/**
 * Owns the QueryClient, the tRPC client and the WebSocket client. The socket authenticates
 * from the session cookie when it opens, so signing in or out replaces it with a new one.
 */
export function RealtimeProvider({ children, url }: RealtimeProviderProps) {
  const [session, setSession] = useState<Session>({ status: 'loading', user: null });
  const [socket, setSocket] = useState<SocketState>(initialSocket);
  const [realtime, setRealtime] = useState<Realtime | null>(null);
  const [store] = useState(() => createConversationStore<Message>());
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const sessionExpired = useCallback(() => {
    if (sessionRef.current.status === 'signedIn') setSession({ status: 'signedOut', user: null });
  }, []);

  const [queryClient] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: (error) => isUnauthorized(error) && sessionExpired() }),
        mutationCache: new MutationCache({ onError: (error) => void (isUnauthorized(error) && sessionExpired()) }),
        defaultOptions: {
          queries: { refetchOnWindowFocus: false, retry: (count, error) => count < 2 && !isUnauthorized(error) },
        },
      }),
  );

  const sessionKey = session.status === 'signedIn' ? `user:${session.user.id}` : 'anonymous';

  useEffect(() => {
    const signedIn = sessionKey !== 'anonymous';
    setSocket({ ...initialSocket, browserOnline: navigator.onLine });
    const client = createRealtimeClient({
      url,
      connectNow: signedIn,
      onOpen: () => setSocket((s) => ({ ...s, everOpened: true, failedAttempts: 0 })),
      onRetry: (attemptIndex) => setSocket((s) => ({ ...s, failedAttempts: attemptIndex })),
      onClose: (cause) => {
        // 4001: the server closed this session's sockets (signed out in another tab).
        if (cause?.code === 4001) sessionExpired();
      },
    });
    const hub = createStreamHub<ConversationEvent>((conversationId, lastEventId, handlers) => {
      const subscription = client.trpcClient.conversation.events.subscribe(
        { conversationId, lastEventId },
        {
          onData: ({ id, data }) => handlers.onData(id, data),
          onError: (error) => {
            if (isUnauthorized(error)) sessionExpired();
            handlers.onError(error);
          },
        },
      );
      return () => subscription.unsubscribe();
    });
    const state = client.wsClient.connectionState.subscribe({
      next: (value) => setSocket((s) => ({ ...s, state: value.state, hasError: value.error !== null })),
    });
    const online = () => setSocket((s) => ({ ...s, browserOnline: navigator.onLine }));
    window.addEventListener('online', online);
    window.addEventListener('offline', online);
    setRealtime({ ...client, hub, sessionKey });
    return () => {
      window.removeEventListener('online', online);
      window.removeEventListener('offline', online);
      state.unsubscribe();
      hub.closeAll();
      void client.wsClient.close();
    };
  }, [sessionKey, url, sessionExpired]);

  // Who am I? Once, with the first (anonymous) client: the cookie decides.
  const checked = useRef(false);
  useEffect(() => {
    if (!realtime || checked.current) return;
    checked.current = true;
    realtime.trpcClient.auth.me.query().then(
      (user) => setSession(user ? { status: 'signedIn', user } : { status: 'signedOut', user: null }),
      () => setSession({ status: 'signedOut', user: null }),
    );
  }, [realtime]);

  const signIn = useCallback(
    async (mode: 'login' | 'register', credentials: Credentials) => {
      if (!realtime) throw new Error('Not ready');
      const user = await realtime.trpcClient.auth[mode].mutate(credentials);
      queryClient.clear();
      store.clear();
      setSession({ status: 'signedIn', user });
      return user;
    },
    [realtime, queryClient, store],
  );

  const signOut = useCallback(async () => {
    try {
      await realtime?.trpcClient.auth.logout.mutate();
    } finally {
      queryClient.clear();
      store.clear();
      setSession({ status: 'signedOut', user: null });
    }
  }, [realtime, queryClient, store]);

  const value = useMemo<RealtimeContextValue | null>(
    () =>
      realtime && realtime.sessionKey === sessionKey
        ? { session, status: connectionStatus(socket), realtime, store, signIn, signOut, sessionExpired }
        : null,
    [realtime, sessionKey, session, socket, store, signIn, signOut, sessionExpired],
  );

  if (!value || !realtime) return null;
  return (
    <trpc.Provider client={realtime.trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <RealtimeContext.Provider value={value}>{children}</RealtimeContext.Provider>
      </QueryClientProvider>
    </trpc.Provider>
  );
}

/** @internal Everything the hooks share. */
export function useRealtimeContext(): RealtimeContextValue {
  const value = useContext(RealtimeContext);
  if (!value) throw new Error('Realtime hooks must be used inside <RealtimeProvider>');
  return value;
}

/**
 * The WebSocket's state: `connecting` (first connection), `online`, `reconnecting` (lost, retrying
 * with backoff) or `offline` (the browser is offline or retries keep failing).
 */
export function useConnectionState(): ConnectionStatus {
  return useRealtimeContext().status;
}

/** The signed-in user and the actions that change it. */
export function useSession() {
  const { session, signIn, signOut } = useRealtimeContext();
  return { ...session, signIn, signOut };
}
