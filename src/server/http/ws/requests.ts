import { TRPCError, type AnyTRPCRouter } from '@trpc/server';
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable';
import { parseTRPCMessage } from '@trpc/server/rpc';
import type { Connection, RequestLimits } from './connection.js';
import type { JsonRpc, RequestId } from './frames.js';
import { invokeProcedure } from './invoke.js';
import { UNKNOWN_CALL, type Call, type ProcedureType } from './responder.js';
import { ActiveSubscription } from './subscription.js';

export type Request = ReturnType<typeof parseTRPCMessage>;

/** What request handling needs of its adapter. */
export type RequestContext = {
  router: AnyTRPCRouter;
  maxSubscriptions: number;
  limits: RequestLimits;
};

/** One request of a frame: a call, or `subscription.stop`. Never throws; every failure is answered on the request's id. */
export async function handleRequest<TContext>(core: RequestContext, connection: Connection<TContext>, request: Request, batchIndex: number) {
  const { id, jsonrpc } = request;
  const { responder, writer } = connection;
  if (id === null) {
    const error = new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' });
    return responder.error(writer, connection.ctx, null, jsonrpc, error, UNKNOWN_CALL);
  }
  if (request.method === 'subscription.stop') return connection.subscriptions.get(id)?.stop();
  const call = callOf(request);
  let subscription: ActiveSubscription<TContext> | null = null;
  if (call.type === 'subscription') {
    subscription = openSubscription(core, connection, id, jsonrpc, call);
    if (!subscription) return;
  }
  const slot = connection.slots.acquire();
  const admitted = typeof slot === 'boolean' ? slot : await slot; // no extra turn when a slot is free
  if (!admitted) {
    if (connection.isClosed) return;
    const error = new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${core.limits.maxInFlight + core.limits.maxWaiting} requests pending per connection` });
    return fail(connection, subscription, id, jsonrpc, error, call);
  }
  try {
    await runProcedure(core, connection, id, jsonrpc, call, subscription, batchIndex);
  } catch (cause) {
    fail(connection, subscription, id, jsonrpc, cause, call);
  } finally {
    connection.slots.release();
  }
}

function callOf(request: Request & { method: ProcedureType }): Call & { type: ProcedureType; path: string } {
  const { path, lastEventId } = request.params;
  let { input } = request.params;
  if (lastEventId !== undefined) {
    input = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...input, lastEventId } : (input ?? { lastEventId });
  }
  return { type: request.method, path, input };
}

/** Registered before the procedure runs, so a stop or the socket closing meanwhile ends it too; null if refused. */
function openSubscription<TContext>(
  core: RequestContext,
  connection: Connection<TContext>,
  id: RequestId,
  jsonrpc: JsonRpc,
  call: Call & { path: string },
): ActiveSubscription<TContext> | null {
  const { responder, writer } = connection;
  if (connection.subscriptions.has(id)) {
    responder.error(writer, connection.ctx, id, jsonrpc, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }), call);
    return null;
  }
  if (connection.subscriptions.size >= core.maxSubscriptions) {
    const error = new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${core.maxSubscriptions} subscriptions per connection` });
    responder.error(writer, connection.ctx, id, jsonrpc, error, call);
    return null;
  }
  const subscription = new ActiveSubscription(connection, id, jsonrpc, call);
  connection.subscriptions.set(id, subscription);
  return subscription;
}

async function runProcedure<TContext>(
  core: RequestContext,
  connection: Connection<TContext>,
  id: RequestId,
  jsonrpc: JsonRpc,
  call: Call & { type: ProcedureType; path: string },
  subscription: ActiveSubscription<TContext> | null,
  batchIndex: number,
) {
  // A context that failed answers every request of the socket, each on its own id.
  if (connection.ctx === undefined && !(await connection.ready)) throw connection.contextError;
  if (subscription?.ended) return; // stopped while waiting for the context or a slot
  const { type, path, input } = call;
  const signal = subscription ? subscription.signal : connection.requestSignal();
  const result = await invokeProcedure({ router: core.router, path, getRawInput: async () => input, ctx: connection.ctx, type, signal, batchIndex });
  const iterable = isObservable(result) ? observableToAsyncIterable(result, signal) : isAsyncIterable(result) ? result : null;
  if (!subscription) {
    if (iterable) {
      throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `Cannot return an async iterable or observable from a ${type} procedure with WebSockets` });
    }
    return connection.responder.data(connection.writer, id, jsonrpc, result);
  }
  if (!iterable) {
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Subscription ${path} did not return an observable or a AsyncGenerator` }); // tRPC's words
  }
  const iterator = iterable[Symbol.asyncIterator]();
  // Stopped (or the socket closed) while the procedure ran: `stopped` was answered then.
  if (subscription.ended) return void iterator.return?.()?.catch(() => undefined);
  subscription.start(iterator);
}

function fail<TContext>(
  connection: Connection<TContext>,
  subscription: ActiveSubscription<TContext> | null,
  id: RequestId,
  jsonrpc: JsonRpc,
  cause: unknown,
  call: Call,
) {
  if (subscription) subscription.refuse(cause);
  else connection.responder.error(connection.writer, connection.ctx, id, jsonrpc, cause, call);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && Symbol.asyncIterator in value;
}
