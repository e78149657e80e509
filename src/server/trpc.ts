import { initTRPC, TRPCError } from '@trpc/server';
import { z, ZodError } from 'zod';
import type { UserDTO } from '../shared/dto.js';
import type { Context } from './context.js';
import { INTERNAL_MESSAGE, requestIdOf } from './error-reporting.js';
import { mountedChatContext } from './integration/mounted.js';
import { DomainError, fromOrmError } from './services/errors.js';

const t = initTRPC.context<Context>().create({
  // Never true: development mode would send stack traces to clients.
  isDev: false,
  // Subscriptions are WebSocket-only (one session rule: logout, expiry and caps act on sockets).
  sse: { enabled: false },
  errorFormatter({ shape, error }) {
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    // Nothing internal (SQL, stack) reaches a client: the cause is logged under this id (onError).
    const { stack: _stack, ...data } = shape.data as typeof shape.data & { stack?: string };
    return {
      ...shape,
      message: internal ? INTERNAL_MESSAGE : shape.message,
      data: {
        ...data,
        /** Quote it to an operator: the server logged the cause under it. */
        requestId: internal ? requestIdOf(error) : null,
        /** Field-by-field validation messages for BAD_REQUEST input errors. */
        zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null,
        /** For TOO_MANY_REQUESTS: how long to wait before trying again. */
        retryAfterMs: error.cause instanceof DomainError ? (error.cause.retryAfterMs ?? null) : null,
      },
    };
  },
});

/** Turns what services throw into the TRPCError with the matching code. */
export function toTRPCError(error: unknown): unknown {
  const mapped = fromOrmError(error);
  if (mapped instanceof DomainError) return new TRPCError({ code: mapped.code, message: mapped.message, cause: mapped });
  if (error instanceof TRPCError) return error;
  return error;
}

/** Rethrows what a service threw (DomainError, ORM constraint errors) as the matching TRPCError. */
function mapDomainErrors<R extends { ok: boolean; error?: { cause?: unknown } }>(result: R): R {
  if (!result.ok) {
    const mapped = toTRPCError(result.error?.cause);
    if (mapped instanceof TRPCError) throw mapped;
  }
  return result;
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
/**
 * Mounted under a host router (`router({ ...host, chat: chatRouter })`), a procedure gets the
 * host's context; `mountedChatContext` finds ours under its `chat` key and the procedure runs with
 * it (merged over the host's). Standalone, the context is ours already and nothing is copied.
 */
export const publicProcedure = t.procedure.use(async ({ ctx, next }) => {
  const mounted = mountedChatContext(ctx);
  return mapDomainErrors(await (mounted ? next({ ctx: mounted }) : next()));
});

/**
 * Requires a signed-in user; the resolver sees `ctx.user` as non-null. One middleware for both
 * checks: each tRPC middleware level copies the call options and the context, which is
 * measurable on a path taken thousands of times a second (`message.send`).
 */
export const authedProcedure = t.procedure.use(async ({ ctx, next }) => {
  const mounted = mountedChatContext(ctx);
  if (!(mounted ?? ctx).user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
  // The narrowed type (`user` is not null below) without passing a context: `next({ ctx })`
  // makes tRPC copy the whole context into a new object (key by key, with defineProperty) on
  // every call (measured: BENCHMARKS.md, "Figures quoted in the code"). `ctx.user` was just checked.
  // Only a context mounted in a host's is passed (see publicProcedure).
  return mapDomainErrors(await next<{ user: UserDTO }>(mounted ? { ctx: mounted as Context & { user: UserDTO } } : {}));
});

/**
 * For the streams in src/server/streams. Every transport gives a subscription its abort signal
 * and the streams end on it (or on `return()`, whichever comes first). The per-socket cap on
 * open subscriptions is the WebSocket adapter's (`maxSubscriptions`).
 */
export const subscriptionProcedure = t.procedure.use(async ({ ctx, next }) => {
  // authedProcedure's checks and this one in one middleware: each level costs tRPC two copies of
  // the call options, and every connection opens four streams (a reconnect storm, 40,000 at once).
  const mounted = mountedChatContext(ctx);
  const own = mounted ?? ctx;
  if (!own.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
  // One session rule: only sockets are closed at logout and expiry, counted and capped, and make
  // their user present. The HTTP server refuses these paths before tRPC; this is the backstop.
  if (own.transport.kind === 'http') throw new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: SUBSCRIPTIONS_OVER_WEBSOCKET });
  return mapDomainErrors(await next<{ user: UserDTO }>(mounted ? { ctx: mounted as Context & { user: UserDTO } } : {}));
});

export const SUBSCRIPTIONS_OVER_WEBSOCKET = 'Subscriptions are served over WebSocket only';

/** Trusted backend code only: a service token over HTTP, or a service caller in-process. */
export const serviceProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.service) {
    throw new TRPCError({
      code: ctx.user ? 'FORBIDDEN' : 'UNAUTHORIZED',
      message: 'Only trusted services may call this',
    });
  }
  return next();
});
