import { getErrorShape, getTRPCErrorFromUnknown, isTrackedEnvelope, transformTRPCResponse, type AnyTRPCRouter, type TRPCError } from '@trpc/server';
import { DataFrameCache, dataText, encodeJson, resultText, type JsonRpc, type RequestId } from './frames.js';
import type { SocketWriter } from './writer.js';

export type ProcedureType = 'query' | 'mutation' | 'subscription';

/** What an error is reported with (tRPC's `onError` and error shape take the same fields). */
export type Call = { type: ProcedureType | 'unknown'; path: string | undefined; input: unknown };
export const UNKNOWN_CALL: Call = { type: 'unknown', path: undefined, input: undefined };

export type WsErrorInfo<TContext> = Call & { error: TRPCError; ctx: TContext | undefined };

/** Says which subscription values may be dropped for a client that is behind (typing, presence). */
export type EphemeralTest = (path: string, value: unknown) => boolean;

type RouterConfig = AnyTRPCRouter['_def']['_config'];

/**
 * Turns results into answer frames for one adapter. With the default (identity) transformer a
 * data answer is built as a string around the payload's JSON (`encodeJson` reuses the JSON of
 * shared events); any other transformer serializes the whole answer as tRPC does.
 */
export class Responder<TContext> {
  private readonly frames = new DataFrameCache();
  private readonly identityTransformer: boolean;

  constructor(
    private readonly config: RouterConfig,
    private readonly onError: ((info: WsErrorInfo<TContext>) => void) | undefined,
    private readonly isEphemeral: EphemeralTest | undefined,
  ) {
    const probe = {};
    this.identityTransformer = config.transformer.output.serialize(probe) === probe;
  }

  result(writer: SocketWriter, id: RequestId, jsonrpc: JsonRpc, type: 'started' | 'stopped') {
    writer.write(resultText(id, jsonrpc, type));
  }

  /** A query's result, or one value of a subscription (`path` set: it may be ephemeral). */
  data(writer: SocketWriter, id: RequestId, jsonrpc: JsonRpc, value: unknown, subscriptionPath?: string) {
    // Asked only while the client is behind: the common path pays nothing for it.
    const ephemeral = subscriptionPath !== undefined && this.isEphemeral !== undefined && writer.isBehind() && this.isEphemeral(subscriptionPath, value);
    const tracked = isTrackedEnvelope(value);
    if (!this.identityTransformer) {
      const result = tracked ? { type: 'data' as const, id: value[0], data: { id: value[0], data: value[1] } } : { type: 'data' as const, data: value };
      return writer.write(JSON.stringify(transformTRPCResponse(this.config, { id, jsonrpc, result })), ephemeral);
    }
    if (tracked) {
      const [eventId, data] = value;
      return writer.writeBuilt(this.frames.tracked(encodeJson(data), id, jsonrpc, eventId), ephemeral);
    }
    writer.write(dataText(id, jsonrpc, encodeJson(value)), ephemeral);
  }

  error(writer: SocketWriter, ctx: TContext | undefined, id: RequestId | null, jsonrpc: JsonRpc, cause: unknown, call: Call) {
    const error = getTRPCErrorFromUnknown(cause);
    this.onError?.({ error, ctx, ...call });
    const shape = getErrorShape({ config: this.config, error, ctx, ...call });
    writer.write(JSON.stringify(transformTRPCResponse(this.config, { id, jsonrpc, error: shape })));
  }

  /** `ws` reported a socket error: only `onError` hears of it. */
  socketError(ctx: TContext | undefined, cause: unknown) {
    this.onError?.({ error: getTRPCErrorFromUnknown(cause), ctx, ...UNKNOWN_CALL });
  }
}
