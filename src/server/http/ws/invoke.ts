import { TRPCError, type AnyTRPCRouter } from '@trpc/server';
import { getProcedureAtPath, getTRPCErrorFromUnknown, middlewareMarker } from '@trpc/server/unstable-core-do-not-import';
import type { ProcedureType } from './responder.js';

/** What one call passes to its procedure's middlewares (tRPC's `ProcedureCallOptions`). */
export type InvokeOptions = {
  router: AnyTRPCRouter;
  path: string;
  type: ProcedureType;
  ctx: unknown;
  getRawInput: () => Promise<unknown>;
  signal: AbortSignal | undefined;
  batchIndex: number;
};

type CallOptions = Omit<InvokeOptions, 'router'> & { input: unknown };
type MiddlewareResult = { ok: true; data: unknown; ctx?: unknown } | { ok: false; error: TRPCError };
type Middleware = (opts: Record<string, unknown>) => Promise<MiddlewareResult>;
type ProcedureDef = { type: ProcedureType; meta: unknown; middlewares: Middleware[]; caller?: unknown };
type Procedure = ((opts: unknown) => Promise<unknown>) & { _def: ProcedureDef; procedure?: true };

/**
 * `callTRPCProcedure` (tRPC 11.19's `callProcedure` and `callRecursive`) without its copies: each
 * middleware level there builds the options twice with Babel's `_objectSpread2` (key by key, with
 * `defineProperty`), which was 7-9 % of the server's samples while 5,000 clients connected and
 * subscribed, and 13-18 % flat out (BENCHMARKS.md, "Tenth round"). Here each level gets one object
 * literal of the keys tRPC's middleware options declare (tRPC's copies also carry its own
 * `router` option along, undeclared), and `next()` follows tRPC's rules: `next({ ctx })` merges over the
 * current context, `next({ input })` replaces the input, `next({ getRawInput })` replaces the raw
 * input; a throw anywhere becomes a `{ ok: false }` result with the TRPCError tRPC would make.
 * A procedure this does not know how to call (an `experimental_caller`) goes to tRPC's own path.
 * The equivalence is tested against tRPC's (tests/ws-invoke.test.ts).
 */
export async function invokeProcedure(opts: InvokeOptions): Promise<unknown> {
  const { router, path, type } = opts;
  const procedure = (await getProcedureAtPath(router, path)) as Procedure | null;
  if (!procedure || typeof procedure !== 'function' || !procedure._def || procedure._def.type !== type) {
    throw new TRPCError({ code: 'NOT_FOUND', message: `No "${type}"-procedure on path "${path}"` });
  }
  const def = procedure._def;
  if (def.caller || !procedure.procedure) return procedure(opts);
  const { ctx, getRawInput, signal, batchIndex } = opts;
  const result = await callLevel(def, 0, { path, type, ctx, getRawInput, signal, batchIndex, input: undefined });
  if (!result) {
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No result from middlewares - did you forget to `return next()`?' });
  }
  if (!result.ok) throw result.error;
  return result.data;
}

type NextOptions = { ctx?: Record<string, unknown>; input?: unknown; getRawInput?: () => Promise<unknown> } | undefined;

async function callLevel(def: ProcedureDef, index: number, opts: CallOptions): Promise<MiddlewareResult> {
  try {
    const middleware = def.middlewares[index]!;
    return await middleware({
      path: opts.path,
      type: opts.type,
      ctx: opts.ctx,
      getRawInput: opts.getRawInput,
      signal: opts.signal,
      batchIndex: opts.batchIndex,
      meta: def.meta,
      input: opts.input,
      next(nextOpts: NextOptions) {
        return callLevel(def, index + 1, {
          path: opts.path,
          type: opts.type,
          ctx: nextOpts?.ctx ? { ...(opts.ctx as object), ...nextOpts.ctx } : opts.ctx,
          getRawInput: nextOpts?.getRawInput ?? opts.getRawInput,
          signal: opts.signal,
          batchIndex: opts.batchIndex,
          input: nextOpts && 'input' in nextOpts ? nextOpts.input : opts.input,
        });
      },
    });
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: middlewareMarker } as MiddlewareResult;
  }
}
