/**
 * The WebSocket adapter calls procedures through `invokeProcedure` (src/server/http/ws/invoke.ts),
 * tRPC's middleware rules without its option copies. Differential: random middleware chains, each
 * called both ways, must give the same result or the same error, and every middleware and the
 * resolver must see the same options (ctx, input, raw input, meta, path, type, signal, batchIndex).
 */
import { callTRPCProcedure, initTRPC, lazy, TRPCError } from '@trpc/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { invokeProcedure } from '../src/server/http/ws/invoke.js';

type Ctx = { user: string | null; n: number };
type Meta = { tag: string };

/** What one middleware level does. */
type Step =
  | { kind: 'pass' }
  | { kind: 'passEmpty' }
  | { kind: 'extendCtx'; key: string; value: number }
  | { kind: 'replaceInput'; value: unknown }
  | { kind: 'replaceRawInput'; value: unknown }
  | { kind: 'throwTRPC'; code: 'FORBIDDEN' | 'CONFLICT' | 'BAD_REQUEST' }
  | { kind: 'throwPlain' }
  | { kind: 'shortCircuit'; value: number }
  | { kind: 'mapResult' }
  | { kind: 'noResult' }
  | { kind: 'parseInput' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: 'pass' as const }),
  fc.constant({ kind: 'passEmpty' as const }),
  fc.record({ kind: fc.constant('extendCtx' as const), key: fc.constantFrom('n', 'extra', 'user'), value: fc.integer() }),
  fc.record({ kind: fc.constant('replaceInput' as const), value: fc.jsonValue() }),
  fc.record({ kind: fc.constant('replaceRawInput' as const), value: fc.jsonValue() }),
  fc.record({ kind: fc.constant('throwTRPC' as const), code: fc.constantFrom('FORBIDDEN' as const, 'CONFLICT' as const, 'BAD_REQUEST' as const) }),
  fc.constant({ kind: 'throwPlain' as const }),
  fc.record({ kind: fc.constant('shortCircuit' as const), value: fc.integer() }),
  fc.constant({ kind: 'mapResult' as const }),
  fc.constant({ kind: 'noResult' as const }),
  fc.constant({ kind: 'parseInput' as const }),
);

/** Everything a middleware or resolver saw, in order: compared between the two callers. */
type Seen = unknown[];

function snapshot(opts: Record<string, unknown>) {
  return {
    ctx: { ...(opts.ctx as object) },
    input: opts.input,
    meta: opts.meta,
    path: opts.path,
    type: opts.type,
    signal: opts.signal,
    batchIndex: opts.batchIndex,
  };
}

function buildRouter(steps: Step[], seen: Seen) {
  const t = initTRPC.context<Ctx>().meta<Meta>().create();
  let builder = t.procedure.meta({ tag: 'chain' });
  for (const step of steps) {
    if (step.kind === 'parseInput') {
      builder = builder.input(z.object({ a: z.number().optional() }).passthrough().or(z.unknown())) as unknown as typeof builder;
      continue;
    }
    builder = builder.use(async (opts) => {
      seen.push({ level: step.kind, ...snapshot(opts as unknown as Record<string, unknown>), raw: await opts.getRawInput() });
      switch (step.kind) {
        case 'pass':
          return opts.next();
        case 'passEmpty':
          return opts.next({});
        case 'extendCtx':
          return opts.next({ ctx: { [step.key]: step.value } });
        case 'replaceInput':
          return opts.next({ input: step.value });
        case 'replaceRawInput':
          return opts.next({ getRawInput: async () => step.value });
        case 'throwTRPC':
          throw new TRPCError({ code: step.code, message: `refused at ${step.code}` });
        case 'throwPlain':
          throw new Error('plain failure');
        case 'shortCircuit':
          return { ok: true, data: { short: step.value }, ctx: opts.ctx, marker: undefined as never };
        case 'mapResult': {
          const result = await opts.next();
          return result.ok ? { ...result, data: { mapped: result.data } } : result;
        }
        case 'noResult':
          return undefined as never;
      }
    }) as unknown as typeof builder;
  }
  const resolve = (opts: { ctx: Ctx; input: unknown; signal?: AbortSignal; path: string; type: string }) => {
    seen.push({ level: 'resolver', ctx: { ...opts.ctx }, input: opts.input, path: opts.path, type: opts.type, signal: opts.signal });
    return { ctx: opts.ctx, input: opts.input };
  };
  return t.router({
    chain: builder.query(resolve as never),
    chainMutation: builder.mutation(resolve as never),
    nested: t.router({ deep: builder.query(resolve as never) }),
    later: lazy(async () => t.router({ inner: builder.query(resolve as never) })),
  });
}

async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { data: await call() };
  } catch (error) {
    if (!(error instanceof TRPCError)) return { thrown: String(error) };
    return { code: error.code, message: error.message, cause: error.cause ? String(error.cause) : null };
  }
}

describe('invokeProcedure calls procedures as tRPC does', () => {
  it('random middleware chains: same result or error, same options at every level', async () => {
    const signal = new AbortController().signal;
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { maxLength: 6 }),
        fc.constantFrom('chain', 'chainMutation', 'nested.deep', 'later.inner', 'missing', 'later.missing'),
        fc.constantFrom('query' as const, 'mutation' as const),
        fc.jsonValue(),
        async (steps, path, type, rawInput) => {
          const theirs: Seen = [];
          const ours: Seen = [];
          const theirRouter = buildRouter(steps, theirs);
          const ourRouter = buildRouter(steps, ours);
          const ctx: Ctx = { user: 'ada', n: 1 };
          const common = { path, type, getRawInput: async () => rawInput, signal, batchIndex: 3 };
          const expected = await outcome(() => callTRPCProcedure({ router: theirRouter, ctx: { ...ctx }, ...common }));
          const actual = await outcome(() => invokeProcedure({ router: ourRouter, ctx: { ...ctx }, ...common }));
          expect(actual).toEqual(expected);
          expect(ours).toEqual(theirs);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a procedure of another type is not found, as in tRPC', async () => {
    const router = buildRouter([], []);
    const call = { ctx: { user: null, n: 0 }, getRawInput: async () => undefined, signal: undefined, batchIndex: 0 };
    const expected = await outcome(() => callTRPCProcedure({ router, path: 'chain', type: 'subscription', ...call }));
    const actual = await outcome(() => invokeProcedure({ router, path: 'chain', type: 'subscription', ...call }));
    expect(actual).toEqual(expected);
    expect(actual).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an experimental_caller procedure goes through tRPC', async () => {
    const t = initTRPC.create();
    const seen: string[] = [];
    const router = t.router({
      custom: t.procedure
        .experimental_caller(async (opts) => {
          seen.push('caller');
          return opts.invoke({ type: 'query', ctx: {}, getRawInput: async () => 7, path: 'custom', input: undefined, signal: undefined, batchIndex: 0 });
        })
        .input(z.number())
        .query(({ input }) => input * 2) as never, // a plain function to the router's types; a procedure at run time
    });
    const result = await invokeProcedure({ router, path: 'custom', type: 'query', ctx: {}, getRawInput: async () => 1, signal: undefined, batchIndex: 0 });
    expect(result).toBe(14);
    expect(seen).toEqual(['caller']);
  });
});
