import type { IncomingMessage } from 'node:http';
import { TRPCError, type AnyTRPCRouter } from '@trpc/server';
import { parseConnectionParamsFromUnknown } from '@trpc/server/http';
import { parseTRPCMessage } from '@trpc/server/rpc';
import type { Connection } from './connection.js';
import { handleRequest, type Request, type RequestContext } from './requests.js';
import { UNKNOWN_CALL } from './responder.js';

export type InboundContext<TContext> = RequestContext & {
  transformer: AnyTRPCRouter['_def']['_config']['transformer'];
  /** Starts building the connection's context (the adapter's `createContext` with error handling). */
  createContext(connection: Connection<TContext>, req: IncomingMessage, connectionParams: () => Record<string, string> | null): Promise<boolean>;
  /** The socket asked for more than its request rate allows. */
  onFlood(connection: Connection<TContext>): void;
};

/**
 * One frame from the client: PING/PONG, the connectionParams frame, or one request or an array of
 * them. Each request spends one token of the socket's budget (a frame at least one); an array
 * longer than `maxPerFrame` is refused whole, before any of it runs.
 */
export function handleFrame<TContext>(core: InboundContext<TContext>, connection: Connection<TContext>, req: IncomingMessage | null, raw: unknown, isBinary: boolean) {
  connection.lastSeen = Date.now();
  connection.pingSentAt = 0;
  const text = isBinary ? null : Buffer.isBuffer(raw) ? raw.toString('utf8') : null;
  if (text === 'PONG') return;
  if (!connection.budget.spend(1)) return core.onFlood(connection);
  const { responder, writer } = connection;
  if (text === 'PING') return writer.write('PONG');
  if (text === null) {
    const error = new TRPCError({ code: 'PARSE_ERROR', message: 'Binary frames are not accepted: send JSON text' });
    return responder.error(writer, connection.ctx, null, undefined, error, UNKNOWN_CALL);
  }
  if (!connection.ready && req) {
    // The first frame of a socket opened with `?connectionParams=1`.
    connection.ready = core.createContext(connection, req, () => connectionParamsOf(text));
    return;
  }
  const parsed = parseRequests(text, core);
  if (parsed instanceof TRPCError) return responder.error(writer, connection.ctx, null, undefined, parsed, UNKNOWN_CALL);
  if (!connection.budget.spend(parsed.length - 1)) return core.onFlood(connection);
  for (let i = 0; i < parsed.length; i++) void handleRequest(core, connection, parsed[i]!, i);
}

function parseRequests(text: string, core: RequestContext & { transformer: InboundContext<unknown>['transformer'] }): Request[] | TRPCError {
  try {
    const json: unknown = JSON.parse(text);
    const items: unknown[] = Array.isArray(json) ? json : [json];
    if (items.length > core.limits.maxPerFrame) {
      return new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `At most ${core.limits.maxPerFrame} requests in one frame` });
    }
    return items.map((item) => parseTRPCMessage(item, core.transformer));
  } catch (cause) {
    return new TRPCError({ code: 'PARSE_ERROR', cause });
  }
}

/** The connectionParams frame, read as tRPC's adapter reads it (same errors, same messages). */
function connectionParamsOf(text: string): Record<string, string> | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
    if (message === null || typeof message !== 'object' || Array.isArray(message)) throw new Error('Message was not an object');
  } catch (cause) {
    throw new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed TRPCConnectionParamsMessage', cause });
  }
  // tRPC's parser returns a dictionary of strings (it checked every value).
  return parseConnectionParamsFromUnknown((message as { data?: unknown }).data) as Record<string, string> | null;
}
