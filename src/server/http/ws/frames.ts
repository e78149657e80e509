/**
 * Building answers: JSON with a cache for shared values, the text of each answer type, and the
 * bytes of a WebSocket text frame. Pure functions plus `DataFrameCache`, which one adapter owns.
 */
import { sharedSlot } from '../../bus/shared.js';

export type RequestId = string | number;
export type JsonRpc = '2.0' | undefined;

function hasToJSON(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

function encodeValue(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const slot = sharedSlot(value);
  if (slot === undefined) return JSON.stringify(value);
  return (slot.json ??= JSON.stringify(value));
}

/**
 * JSON.stringify, reusing the cached JSON of shared values (`share()`, bus/shared.ts), also as
 * array elements (a batch of events). A one-element array of a shared value gets the same string
 * object every time, which lets the frame built around it be reused too (`DataFrameCache`).
 */
export function encodeJson(value: unknown): string | undefined {
  if (!Array.isArray(value) || sharedSlot(value) !== undefined || hasToJSON(value)) return encodeValue(value);
  if (value.length === 1) {
    const only: unknown = value[0];
    const slot = only !== null && typeof only === 'object' && !hasToJSON(only) ? sharedSlot(only) : undefined;
    if (slot) return (slot.singletonJson ??= `[${encodeValue(only)}]`);
  }
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ',';
    out += encodeValue(value[i]) ?? 'null';
  }
  return `${out}]`;
}

/** `{"id":…,` (and `"jsonrpc":"2.0",`): the start of every answer. */
export function answerHead(id: RequestId | null, jsonrpc: JsonRpc): string {
  return jsonrpc === undefined ? `{"id":${JSON.stringify(id)},` : `{"id":${JSON.stringify(id)},"jsonrpc":"2.0",`;
}

export function resultText(id: RequestId, jsonrpc: JsonRpc, type: 'started' | 'stopped'): string {
  return `${answerHead(id, jsonrpc)}"result":{"type":"${type}"}}`;
}

/** A data answer around already encoded JSON (undefined: no `data` field, as JSON.stringify drops it). */
export function dataText(id: RequestId, jsonrpc: JsonRpc, json: string | undefined): string {
  return `${answerHead(id, jsonrpc)}"result":{"type":"data"${json === undefined ? '' : `,"data":${json}`}}}`;
}

export const RECONNECT_TEXT = '{"id":null,"method":"reconnect"}';

/**
 * One complete, unmasked WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, payload length in
 * 7, 16 or 64 bits) holding `text`, as `ws` would frame it without compression.
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, headerLength, 'utf8');
  return frame;
}

/** A tracked data answer: its text, and its frame bytes once a raw socket asked for them. */
export type BuiltFrame = { readonly text: string; frame: Buffer | null };

/**
 * Remembers the last tracked data answer built. The subscribers of one event are served one
 * after the other, and their answers differ only if their subscription ids do (wsLink numbers
 * them per client, so usually they do not): the text and bytes are then built once per event.
 */
export class DataFrameCache {
  private last: { json: string | undefined; id: RequestId; jsonrpc: JsonRpc; eventId: unknown; built: BuiltFrame } | null = null;

  tracked(json: string | undefined, id: RequestId, jsonrpc: JsonRpc, eventId: unknown): BuiltFrame {
    const last = this.last;
    if (last && last.json === json && last.id === id && last.jsonrpc === jsonrpc && last.eventId === eventId) return last.built;
    const eventJson = JSON.stringify(eventId);
    const payload = json === undefined ? `{"id":${eventJson}}` : `{"id":${eventJson},"data":${json}}`;
    const built: BuiltFrame = { text: `${answerHead(id, jsonrpc)}"result":{"type":"data","id":${eventJson},"data":${payload}}}`, frame: null };
    this.last = { json, id, jsonrpc, eventId, built };
    return built;
  }
}
