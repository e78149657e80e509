/**
 * Everything one session's realtime connection owns: the WebSocket and tRPC clients, the shared
 * conversation streams (resumed from their newest seq after any loss) and the outbox.
 */
import type { ConversationEvent } from '../shared/events.js';
import { createRealtimeClient, type KeepAliveOptions, type RealtimeClient } from './client.js';
import { isRetryable, isUnauthorized } from './logic/errors.js';
import type { PendingMessage } from './logic/messages.js';
import { createOutbox, type Outbox } from './logic/outbox.js';
import { createStreamHub, type StreamHub } from './logic/stream-hub.js';
import type { Message } from './trpc.js';

export type SessionClient = RealtimeClient & {
  /** Which session this client belongs to: a new sign-in gets a new socket. */
  sessionKey: string;
  hub: StreamHub<ConversationEvent>;
  /** Null while signed out. */
  outbox: Outbox<Message> | null;
};

export type SessionClientOptions = {
  url?: string;
  sessionKey: string;
  keepAlive?: KeepAliveOptions;
  outboxRetryDelayMs?: (failure: number) => number;
  onOpen(): void;
  onRetry(attemptIndex: number): void;
  onClose(cause?: { code?: number }): void;
  sessionExpired(): void;
  onPendingChange(entries: readonly PendingMessage[]): void;
  onSent(message: Message): void;
};

function browserStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export function createSessionClient(options: SessionClientOptions): SessionClient {
  const { sessionKey, sessionExpired } = options;
  const signedIn = sessionKey !== 'anonymous';
  const client = createRealtimeClient({
    url: options.url,
    connectNow: signedIn,
    keepAlive: options.keepAlive,
    onOpen: options.onOpen,
    onRetry: options.onRetry,
    onClose: options.onClose,
  });
  const hub = createStreamHub<ConversationEvent>(
    (conversationId, lastEventId, handlers) => {
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
    },
    // A stream the server ended on a hiccup resumes from its position; a refusal stays closed.
    { shouldReopen: (error) => isRetryable(error) && !isUnauthorized(error) },
  );
  const outbox = signedIn
    ? createOutbox<Message>({
        storage: browserStorage(),
        storageKey: `realtime-outbox:${sessionKey}`,
        send: (entry) =>
          client.trpcClient.message.send.mutate({
            conversationId: entry.conversationId,
            content: entry.content,
            clientMessageId: entry.clientMessageId,
          }),
        onChange: options.onPendingChange,
        onSent: options.onSent,
        onUnauthorized: sessionExpired,
        retryDelayMs: options.outboxRetryDelayMs,
      })
    : null;
  return { ...client, hub, outbox, sessionKey };
}

/** The last signed-in user, so a page loaded while the server is unreachable still shows the outbox. */
export const rememberedUser = {
  key: 'realtime-user',
  read(): { id: number; username: string } | null {
    try {
      const value: unknown = JSON.parse(browserStorage()?.getItem(this.key) ?? 'null');
      if (value && typeof value === 'object' && 'id' in value && 'username' in value && typeof value.id === 'number' && typeof value.username === 'string') {
        return { id: value.id, username: value.username };
      }
    } catch {
      // unreadable: forget it
    }
    return null;
  },
  write(user: { id: number; username: string } | null) {
    try {
      if (user) browserStorage()?.setItem(this.key, JSON.stringify({ id: user.id, username: user.username }));
      else browserStorage()?.removeItem(this.key);
    } catch {
      // storage blocked: nothing to remember
    }
  },
};
