/**
 * The host's backend: Express with its own cookie session and its own tRPC router, and the chat
 * (installed from the package) mounted under `chat`, its WebSocket on the same server.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import { parse } from 'cookie';
import express from 'express';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  attachWebSocket,
  chatRouter,
  createCaller,
  createChatContext,
  createServer,
  hostSessionIdentity,
  type Context as ChatContext,
} from 'trpc-social-realtime';
import { z } from 'zod';
import { SESSION_COOKIE, signIn, userOfSession, users, type HostUser } from './host.js';

// 1. The chat knows the host's users through the host's session cookie and session store.
const chat = await createServer({
  config: { databasePath: process.env.CHAT_DATABASE ?? ':memory:', logLevel: 'warn' },
  identity: hostSessionIdentity({
    cookieName: SESSION_COOKIE,
    lookup: (sessionId) => {
      const user = userOfSession(sessionId);
      return user && { externalId: String(user.id), name: user.name, avatarUrl: user.avatarUrl };
    },
  }),
});
/** Trusted backend calls (notifications, groups, account deletion), in-process. */
const chatService = createCaller(await createChatContext(chat, { service: true }));

// 2. The host's tRPC router, with the chat mounted under `chat`.
type HostContext = { user: HostUser | null; chat: ChatContext };
const t = initTRPC.context<HostContext>().create();
const signedIn = t.procedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED' });
  return next({ ctx: { user: ctx.user } });
});

export const hostRouter = t.router({
  me: t.procedure.query(({ ctx }) => (ctx.user ? { id: ctx.user.id, name: ctx.user.name } : null)),
  /** The host's people, with their chat user id (created on first sight) so the page can open a chat. */
  people: signedIn.query(async ({ ctx }) =>
    Promise.all(
      users
        .filter((user) => user.id !== ctx.user.id)
        .map(async (user) => {
          const chatUser = await chatService.service.user({ externalId: String(user.id), name: user.name, avatarUrl: user.avatarUrl });
          return { id: user.id, name: user.name, chatUserId: chatUser.id };
        }),
    ),
  ),
  /** A host feature: liking someone's post. The host's backend tells the author through the chat. */
  likePost: signedIn.input(z.object({ authorId: z.number().int() })).mutation(async ({ ctx, input }) => {
    const author = users.find((user) => user.id === input.authorId);
    if (!author) throw new TRPCError({ code: 'NOT_FOUND' });
    await chatService.service.notify({
      user: { externalId: String(author.id), name: author.name },
      type: 'like',
      content: { title: `${ctx.user.name} liked your post`, url: `/posts/${author.id}` },
    });
    return { ok: true as const };
  }),
  chat: chatRouter,
});
export type HostRouter = typeof hostRouter;

const hostUserOf = (req: IncomingMessage) => userOfSession(parse(req.headers.cookie ?? '')[SESSION_COOKIE]);

// 3. Express: the host's own routes, the tRPC router through tRPC's Express adapter, the page.
const app = express();
// The form parser on this route only: tRPC's adapter reads the /api bodies itself.
app.post('/login', express.urlencoded({ extended: false }), (req, res) => {
  const sessionId = signIn(String(req.body.name ?? ''), String(req.body.password ?? ''));
  if (!sessionId) return void res.status(401).send('Wrong name or password');
  res.cookie(SESSION_COOKIE, sessionId, { httpOnly: true, sameSite: 'lax', path: '/' }).redirect('/');
});
app.use(
  '/api',
  createExpressMiddleware({
    router: hostRouter,
    createContext: async ({ req, res }): Promise<HostContext> => ({ user: hostUserOf(req), chat: await createChatContext(chat, { req, res }) }),
  }),
);
app.use(express.static(fileURLToPath(new URL('../public', import.meta.url))));

// 4. One HTTP server: the chat's WebSocket on it at /api/socket, serving the host's router.
const server = app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1', () => {
  const address = server.address();
  console.log(`host app listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`);
});
const socket = attachWebSocket(chat, server, {
  path: '/api/socket',
  router: hostRouter,
  createContext: ({ req, chat: chatContext }): HostContext => ({ user: hostUserOf(req), chat: chatContext }),
});

async function shutdown() {
  await socket.close();
  server.close();
  await chat.close();
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
