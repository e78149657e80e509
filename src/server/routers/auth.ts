import { TRPCError } from '@trpc/server';
import { credentialsInput, noInput } from '../../shared/schemas.js';
import type { Context } from '../context.js';
import { clearSessionCookie, sessionCookie } from '../http/cookies.js';
import type { IssuedSession } from '../services/auth.js';
import { authedProcedure, publicProcedure, router } from '../trpc.js';

/** Sessions need a response that can carry Set-Cookie: refuse them over WebSocket. */
async function beforeSignIn(ctx: Context) {
  if (ctx.transport.kind === 'ws') {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'Sign in over HTTP: a WebSocket cannot set the session cookie' });
  }
  await ctx.services.rateLimits.consume('signIn', ctx.transport.ip ?? 'in-process');
}

function startSession(ctx: Context, session: IssuedSession) {
  ctx.transport.cookies?.append(sessionCookie(session.token, session.expiresAt, ctx.config));
  return session.user;
}

export const authRouter = router({
  register: publicProcedure.input(credentialsInput).mutation(async ({ ctx, input }) => {
    await beforeSignIn(ctx);
    return startSession(ctx, await ctx.services.auth.register(input));
  }),

  login: publicProcedure.input(credentialsInput).mutation(async ({ ctx, input }) => {
    await beforeSignIn(ctx);
    return startSession(ctx, await ctx.services.auth.login(input));
  }),

  /** Deletes the session, clears the cookie and closes the session's open WebSockets. */
  logout: authedProcedure.input(noInput).mutation(async ({ ctx }) => {
    if (ctx.sessionId) {
      await ctx.services.auth.logout(ctx.sessionId);
      ctx.services.connections.closeSession(ctx.sessionId);
    }
    ctx.transport.cookies?.append(clearSessionCookie(ctx.config));
    return { ok: true as const };
  }),

  /** The signed-in user, or null. */
  me: publicProcedure.input(noInput).query(({ ctx }) => ctx.user),
});
