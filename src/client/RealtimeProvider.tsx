import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { KeepAliveOptions } from './client.js';
import { connectionStatus, type ConnectionStatus, type SocketState } from './logic/connection.js';
import { errorCode, isUnauthorized } from './logic/errors.js';
import { createConversationStore, type ConversationStore } from './logic/store.js';
import { createSessionClient, rememberedUser, type SessionClient } from './session-client.js';
import { trpc, type Credentials, type Message, type User } from './trpc.js';

export type Session =
  | { status: 'loading'; user: null }
  | { status: 'signedOut'; user: null }
  | { status: 'signedIn'; user: User };

type Realtime = SessionClient;

type RealtimeContextValue = {
  session: Session;
  status: ConnectionStatus;
  realtime: Realtime;
  store: ConversationStore<Message>;
  outbox: Realtime['outbox'];
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
  /** Client keepalive (how fast a silently dead socket is noticed); defaults suit production. */
  keepAlive?: KeepAliveOptions;
  /** Outbox backoff after a failed send while nothing else says the connection is back. */
  outboxRetryDelayMs?: (failure: number) => number;
};

const initialSocket: SocketState = { state: 'connecting', hasError: false, failedAttempts: 0, browserOnline: true, everOpened: false };

/** Queries whose live updates are not all replayed after a loss: refetched on every reconnect. */
const RESYNC_ON_RECONNECT = [['conversation', 'list'], ['notification', 'list'], ['group', 'list'], ['group', 'members']] as const;

/**
 * Owns the QueryClient, the tRPC client and the WebSocket client. The socket authenticates
 * from the session cookie when it opens, so signing in or out replaces it with a new one.
 */
export function RealtimeProvider({ children, url, keepAlive, outboxRetryDelayMs }: RealtimeProviderProps) {
  const [session, setSession] = useState<Session>({ status: 'loading', user: null });
  const [socket, setSocket] = useState<SocketState>(initialSocket);
  const [realtime, setRealtime] = useState<Realtime | null>(null);
  const [store] = useState(() => createConversationStore<Message>());
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const options = useRef({ keepAlive, outboxRetryDelayMs });

  const sessionExpired = useCallback(() => {
    if (sessionRef.current.status !== 'signedIn') return;
    rememberedUser.write(null);
    setSession({ status: 'signedOut', user: null });
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
    setSocket({ ...initialSocket, browserOnline: navigator.onLine });
    let opened = false;
    const client = createSessionClient({
      url,
      sessionKey,
      ...options.current,
      onOpen: () => {
        // A reopen after a loss: what the streams do not replay is refetched, the outbox goes out.
        if (opened) for (const path of RESYNC_ON_RECONNECT) void queryClient.invalidateQueries({ queryKey: [path] });
        opened = true;
        client.outbox?.wake();
        setSocket((s) => ({ ...s, everOpened: true, failedAttempts: 0 }));
      },
      onRetry: (attemptIndex) => setSocket((s) => ({ ...s, failedAttempts: attemptIndex })),
      onClose: (cause) => {
        // 4001: the server closed this session's sockets (signed out in another tab).
        if (cause?.code === 4001) sessionExpired();
      },
      sessionExpired,
      onPendingChange: (entries) => store.replacePending(entries),
      onSent: (message) => store.addMessages(message.conversationId, [message]),
    });
    const state = client.wsClient.connectionState.subscribe({
      next: (value) => setSocket((s) => ({ ...s, state: value.state, hasError: value.error !== null })),
    });
    const online = () => {
      setSocket((s) => ({ ...s, browserOnline: navigator.onLine }));
      if (navigator.onLine) client.outbox?.wake();
    };
    window.addEventListener('online', online);
    window.addEventListener('offline', online);
    setRealtime(client);
    return () => {
      window.removeEventListener('online', online);
      window.removeEventListener('offline', online);
      state.unsubscribe();
      client.hub.closeAll();
      client.outbox?.dispose();
      store.replacePending([]);
      void client.wsClient.close();
    };
  }, [sessionKey, url, sessionExpired, store, queryClient]);

  // Who am I? Once, with the first (anonymous) client: the cookie decides.
  const checked = useRef(false);
  useEffect(() => {
    if (!realtime || checked.current) return;
    checked.current = true;
    realtime.trpcClient.auth.me.query().then(
      (user) => {
        rememberedUser.write(user);
        setSession(user ? { status: 'signedIn', user } : { status: 'signedOut', user: null });
      },
      (error: unknown) => {
        // Server unreachable: carry on as the last user (their outbox shows, the socket retries);
        // the first answer from the server confirms or ends the session.
        const remembered = errorCode(error) === null ? rememberedUser.read() : null;
        setSession(remembered ? { status: 'signedIn', user: remembered } : { status: 'signedOut', user: null });
      },
    );
  }, [realtime]);

  const signIn = useCallback(
    async (mode: 'login' | 'register', credentials: Credentials) => {
      if (!realtime) throw new Error('Not ready');
      const user = await realtime.trpcClient.auth[mode].mutate(credentials);
      rememberedUser.write(user);
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
      rememberedUser.write(null);
      queryClient.clear();
      store.clear();
      setSession({ status: 'signedOut', user: null });
    }
  }, [realtime, queryClient, store]);

  const value = useMemo<RealtimeContextValue | null>(
    () =>
      realtime && realtime.sessionKey === sessionKey
        ? { session, status: connectionStatus(socket), realtime, store, outbox: realtime.outbox, signIn, signOut, sessionExpired }
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
