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

const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const mapped = toTRPCError(result.error.cause);
    if (mapped instanceof TRPCError) throw mapped;
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapDomainErrors);

/** Requires a signed-in user; the resolver sees `ctx.user` as non-null. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
  return next({ ctx: { ...ctx, user: ctx.user } });
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
