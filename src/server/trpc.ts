import { initTRPC, TRPCError } from '@trpc/server';
import { z, ZodError } from 'zod';
import type { Context } from './context.js';
import { DomainError, fromOrmError } from './services/errors.js';

const t = initTRPC.context<Context>().create({
  isDev: process.env.NODE_ENV !== 'production',
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        /** Field-by-field validation messages for BAD_REQUEST input errors. */
        zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null,
      },
    };
  },
});

/** Turns what services throw into the TRPCError with the matching code. */
export function toTRPCError(error: unknown): unknown {
  const mapped = fromOrmError(error);
  if (mapped instanceof DomainError) return new TRPCError({ code: mapped.code, message: mapped.message, cause: mapped });
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
export const publicProcedure = t.procedure.use(async ({ next }) => mapDomainErrors(await next()));

/**
 * Requires a signed-in user; the resolver sees `ctx.user` as non-null. One middleware for both
 * checks: each tRPC middleware level copies the call options and the context, which is
 * measurable on a path taken thousands of times a second (`message.send`).
 */
export const authedProcedure = t.procedure.use(async ({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
  return mapDomainErrors(await next({ ctx: { user: ctx.user } }));
});

/**
 * For subscriptions: takes one of the socket's subscription slots (TOO_MANY_REQUESTS when none
 * is left). The stream hands `releaseSlot` to `listenThenRead`, which calls it when it ends.
 */
export const subscriptionProcedure = authedProcedure.use(async ({ ctx, next }) => {
  const slots = ctx.transport.subscriptions;
  if (slots && slots.active >= slots.max) {
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${slots.max} subscriptions per connection` });
  }
  let held = !!slots;
  if (slots) slots.active++;
  const releaseSlot = () => {
    if (held && slots) slots.active--;
    held = false;
  };
  const result = await next({ ctx: { releaseSlot } });
  if (!result.ok) releaseSlot();
  return result;
});

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
