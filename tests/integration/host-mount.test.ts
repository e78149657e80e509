/**
 * A host app of its own (its users, its cookie, its tRPC router, its http.Server) with the chat
 * mounted under `chat`: createCaller through the host router, and one client with one WebSocket
 * at the host's chosen path, next to another WebSocket endpoint of the host's that keeps working.
 */
import { createServer as createNodeServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { parse } from 'cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { z } from 'zod';
import { attachWebSocket, chatRouter, createCaller, createChatContext, createServer, type AttachedSocket, type Context, type RealtimeServer } from '../../src/server/index.js';
import type { ConversationEvent } from '../../src/shared/events.js';
import { RELAXED_LIMITS, uid } from '../helpers.js';
import { waitFor } from '../socket-helpers.js';

type HostUser = { id: string; name: string };
const hostUsers = new Map<string, HostUser>([['cookie-ana', { id: 'u-ana', name: 'Ana' }], ['cookie-bo', { id: 'u-bo', name: 'Bo' }]]);
const hostUserOf = (req: IncomingMessage) => hostUsers.get(parse(req.headers.cookie ?? '').host_session ?? '') ?? null;

// The host's own tRPC: its own context type; the chat's rides under `chat`.
type HostContext = { hostUser: HostUser | null; chat: Context };
const t = initTRPC.context<HostContext>().create();
const hostRouter = t.router({
  whoami: t.procedure.query(({ ctx }) => ctx.hostUser),
  like: t.procedure.input(z.object({ authorId: z.string() })).mutation(async ({ ctx, input }) => {
    if (!ctx.hostUser) throw new TRPCError({ code: 'UNAUTHORIZED' });
    // The host's backend pushes through the chat's service API, in-process.
    const service = createCaller(await createChatContext(chatApp, { service: true }));
    return service.service.notify({ user: { externalId: input.authorId }, type: 'like', content: { title: `${ctx.hostUser.name} liked your post` } });
  }),
  chat: chatRouter,
});
type HostRouter = typeof hostRouter;

let chatApp: RealtimeServer;

/** The chat knows the host's users by the host's own cookie: the same resolver serves HTTP and the socket. */
const identity = ({ cookies }: { cookies: Record<string, string | undefined> }) => {
  const user = hostUsers.get(cookies.host_session ?? '');
  return user ? { externalId: user.id, name: user.name } : null;
};

/** What the host's createContext does: its own context, plus the chat's built from the same request. */
async function hostContext(req: IncomingMessage): Promise<HostContext> {
  return { hostUser: hostUserOf(req), chat: await createChatContext(chatApp, { req }) };
}

describe('chat mounted in a host tRPC app on the host http.Server', () => {
  let attached: AttachedSocket;
  let base: string;
  let port: number;
  const server = createNodeServer();
  const otherWss = new WebSocketServer({ noServer: true });

  beforeAll(async () => {
    chatApp = await createServer({ config: { databasePath: ':memory:', logLevel: 'silent', seedDemo: false }, rateLimits: RELAXED_LIMITS, identity });
    const api = createHTTPHandler({ router: hostRouter, basePath: '/api/', createContext: ({ req }) => hostContext(req) });
    server.on('request', (req, res) => (req.url?.startsWith('/api/') ? api(req, res) : res.writeHead(404).end()));
    // The host's own, unrelated WebSocket endpoint: the chat must not take its upgrades.
    otherWss.on('connection', (ws) => ws.send('host socket'));
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/host-events') otherWss.handleUpgrade(req, socket, head, (ws) => otherWss.emit('connection', ws, req));
    });
    attached = attachWebSocket(chatApp, server, {
      path: '/api/socket',
      router: hostRouter,
      createContext: ({ req, chat }): HostContext => ({ hostUser: hostUserOf(req), chat }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await attached.close();
    otherWss.close();
    await new Promise((resolve) => server.close(resolve));
    await chatApp.close();
  });

  it('createCaller through the host router: chat procedures run as the host user, host procedures keep the host context', async () => {
    const as = async (hostUser: HostUser) =>
      hostRouter.createCaller({ hostUser, chat: await createChatContext(chatApp, { user: { externalId: hostUser.id, name: hostUser.name } }) });
    const ana = await as({ id: 'u-ana', name: 'Ana' });
    const bo = await as({ id: 'u-bo', name: 'Bo' });
    const boInChat = await bo.chat.auth.me();
    const conversation = await ana.chat.conversation.openDirect({ userId: boInChat!.id });
    await ana.chat.message.send({ conversationId: conversation.id, content: 'hello from the host app', clientMessageId: uid() });
    expect((await bo.chat.conversation.history({ conversationId: conversation.id })).messages[0]?.content).toBe('hello from the host app');
    expect(await ana.whoami()).toEqual({ id: 'u-ana', name: 'Ana' });
    const anonymous = hostRouter.createCaller({ hostUser: null, chat: await createChatContext(chatApp, { user: null }) });
    await expect(anonymous.chat.conversation.list()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(ana.chat.service.deleteUser({ user: { externalId: 'u-bo' } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('one host client, one WebSocket at the host path: live chat events and a notification after a like', async () => {
    const clientFor = (cookie: string) => {
      class CookieSocket extends WebSocket {
        constructor(url: string | URL) {
          super(url, { headers: { cookie } });
        }
      }
      const wsClient = createWSClient({ url: `ws://127.0.0.1:${port}/api/socket`, WebSocket: CookieSocket as unknown as typeof globalThis.WebSocket });
      const client = createTRPCClient<HostRouter>({
        links: [splitLink({ condition: (op) => op.type === 'subscription', true: wsLink({ client: wsClient }), false: httpBatchLink({ url: `${base}/api`, headers: { cookie } }) })],
      });
      return { client, wsClient };
    };
    const ana = clientFor('host_session=cookie-ana');
    const bo = clientFor('host_session=cookie-bo');
    const boId = (await bo.client.chat.auth.me.query())!.id;
    const conversation = await ana.client.chat.conversation.openDirect.mutate({ userId: boId });

    const events: ConversationEvent[] = [];
    const titles: string[] = [];
    let started = 0;
    const eventsSub = bo.client.chat.conversation.events.subscribe(
      { conversationId: conversation.id },
      { onStarted: () => started++, onData: ({ data }) => events.push(...data) },
    );
    const notesSub = bo.client.chat.notification.stream.subscribe({}, {
      onStarted: () => started++,
      onData: ({ data }) => data.forEach((event) => event.type === 'notification' && titles.push(event.notification.content.title)),
    });
    await waitFor(() => started === 2, 5_000, 'both subscriptions started');
    await ana.client.chat.typing.start.mutate({ conversationId: conversation.id });
    await ana.client.chat.message.send.mutate({ conversationId: conversation.id, content: 'over the host socket', clientMessageId: uid() });
    await ana.client.like.mutate({ authorId: 'u-bo' });
    // Waits for the like itself: the first test's message left bo (offline then) a notification
    // that may arrive on this stream too.
    await waitFor(() => events.some((e) => e.type === 'message') && titles.includes('Ana liked your post'), 5_000, 'events');
    expect(events.some((e) => e.type === 'typing' && e.typing)).toBe(true);
    expect(titles).toContain('Ana liked your post');

    // The host's other upgrade path still works, and an unknown path is not answered by the chat.
    const other = new WebSocket(`ws://127.0.0.1:${port}/host-events`);
    expect(await new Promise((resolve) => other.once('message', (data) => resolve(data.toString())))).toBe('host socket');
    other.close();
    eventsSub.unsubscribe();
    notesSub.unsubscribe();
    await Promise.all([ana.wsClient.close(), bo.wsClient.close()]);
  });
});
