import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import WebSocket from 'ws';
import type { AppRouter } from '../../src/shared/index.js';
import type { ConversationEvent, InboxEvent } from '../../src/shared/events.js';

/**
 * A tRPC client as the web app builds it (subscriptions over wsLink with the session cookie,
 * the rest over HTTP), pointed at one instance or at the balancer. `upstreams` records which
 * instance each of its sockets landed on (nginx's X-Upstream, rendered for tests only).
 */
export function clusterClient(base: string, cookie: string) {
  const upstreams: string[] = [];
  const sockets: WebSocket[] = [];
  const headers = { cookie };
  class CookieWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers });
      sockets.push(this);
      this.once('upgrade', (response) => upstreams.push(String(response.headers['x-upstream'] ?? '')));
    }
  }
  const wsClient = createWSClient({
    url: `${base.replace(/^http/, 'ws')}/trpc`,
    WebSocket: CookieWebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 100,
    keepAlive: { enabled: true, intervalMs: 2_000, pongTimeoutMs: 2_000 },
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient }),
        false: httpBatchLink({ url: `${base}/trpc`, headers: () => headers, maxItems: 10 }),
      }),
    ],
  });
  return { client, upstreams, sockets, close: () => wsClient.close() };
}

export type ClusterClient = ReturnType<typeof clusterClient>;

/** Everything a conversation stream yields, and when it ended. */
export function watchConversation({ client }: ClusterClient, conversationId: number) {
  const events: ConversationEvent[] = [];
  const state = { started: false, ended: false };
  const subscription = client.conversation.events.subscribe(
    { conversationId },
    {
      onStarted: () => (state.started = true),
      onData: (value) => events.push(...value.data),
      onComplete: () => (state.ended = true),
    },
  );
  return {
    events,
    state,
    seqs: () => events.flatMap((event) => (event.type === 'message' ? [event.message.seq] : [])),
    unsubscribe: () => subscription.unsubscribe(),
  };
}

/** Message ids an inbox stream yields (with repeats, to count them). */
export function watchInbox({ client }: ClusterClient) {
  const events: InboxEvent[] = [];
  const state = { started: false };
  const subscription = client.inbox.events.subscribe({}, { onStarted: () => (state.started = true), onData: (value) => events.push(...value.data) });
  return {
    events,
    state,
    messageIds: () => events.flatMap((event) => (event.type === 'message' ? [event.message.id] : [])),
    unsubscribe: () => subscription.unsubscribe(),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends into a group every `intervalMs` until stopped, retrying a failed send with the same
 * clientMessageId (an instance that died or is restarting) until it is acknowledged.
 */
export function keepSending({ client }: ClusterClient, groupId: number, tag: string, intervalMs = 50) {
  const acknowledged: Array<{ id: number; seq: number }> = [];
  let running = true;
  let failures = 0;
  const done = (async () => {
    for (let n = 1; running; n++) {
      const clientMessageId = `${tag}-${n}`;
      for (let attempt = 0; ; attempt++) {
        try {
          const message = await client.message.group.mutate({ groupId, content: clientMessageId, clientMessageId });
          acknowledged.push({ id: message.id, seq: message.seq });
          break;
        } catch (error) {
          failures++;
          if (attempt > 100) throw error;
          await sleep(100);
        }
      }
      await sleep(intervalMs);
    }
  })();
  return {
    acknowledged,
    failures: () => failures,
    async stop() {
      running = false;
      await done;
    },
  };
}
