/**
 * Lean clients for the three servers, one connection per user. The tRPC one speaks the
 * WebSocket wire protocol exactly as `wsLink` does: `{ id, method, params: { input, path,
 * lastEventId } }` out, `{ id, result: { type: 'started' | 'data' | 'stopped', id?, data } }`
 * or `{ id, error }` in, and "PONG" for every "PING".
 */
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ServerKind } from './control.js';

export type BenchUser = {
  userId: number;
  /** Session cookie value (tRPC only). */
  token: string;
  groupId: number;
  conversationId: number;
};

/** `BENCH_DIAG`: clients and load generators collect where the time went. */
export const DIAG = Boolean(process.env.BENCH_DIAG);

/**
 * `key` is the message's order key: its seq for tRPC, the sender's counter for the baselines.
 * `committedAt`: the server's commit time (wall clock, ms), where the protocol carries it (tRPC).
 */
export type DeliveryHandler = (key: number, content: string, committedAt?: number) => void;

export interface Connection {
  readonly open: boolean;
  /** Connects and holds the subscriptions; `lastEventId` resumes the conversation stream. */
  connect(extraSubscriptions: readonly string[]): Promise<void>;
  /** Sends to the user's group; resolves with the order key (seq for tRPC, null otherwise). */
  send(content: string, clientMessageId: string): Promise<number | null>;
  drop(): void;
  onClose: (() => void) | null;
  /** The web client's keepalive (tRPC only): PING after `intervalMs` without a frame from the server. */
  keepAlive?(now: number, intervalMs: number): void;
}

export function createConnection(kind: ServerKind, url: string, user: BenchUser, onDelivery: DeliveryHandler): Connection {
  if (kind === 'trpc') return new TrpcConnection(url, user, onDelivery);
  if (kind === 'socketio') return new SocketIoConnection(url, user, onDelivery);
  return new WsConnection(url, user, onDelivery);
}

/** The socket went away with the request unanswered: its outcome is unknown. */
export class ClosedError extends Error {
  constructor() {
    super('connection closed');
  }
}

const counterOf = (content: string) => Number(content.slice(content.indexOf('|') + 1, content.indexOf('|', content.indexOf('|') + 1)));

type Waiter = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type TrpcResponse = {
  id: number;
  result?: { type: 'started' | 'stopped' | 'data'; id?: string; data?: unknown };
  error?: { message: string; data?: { code?: string } };
};
type MessageEvent = { type: string; message?: { seq: number; content: string; createdAt?: string } };

/** A subscription the client holds: sent again on every reconnect, resuming after the last tracked id it received (as wsLink does). */
type Held = { id: number; path: string; input: unknown; lastEventId?: string };

/** What the web app passes each of its streams when it first opens them (src/client/hooks): the newest id it holds, 0 when none. */
function firstInput(path: string, user: BenchUser): unknown {
  if (path === 'conversation.events') return { conversationId: user.conversationId, lastEventId: '0' };
  if (path === 'inbox.events') return { lastEventId: '0' };
  if (path === 'notification.stream' || path === 'presence.watch') return {};
  return undefined;
}

class TrpcConnection implements Connection {
  private ws: WebSocket | null = null;
  private nextId = 0;
  private waiting = new Map<number, Waiter>();
  /** Held subscriptions by request id; the conversation stream is the first. */
  private held: Map<number, Held> | null = null;
  private conversationSubscription = -1;
  private lastReceived = 0;
  private pingSent = false;
  onClose: (() => void) | null = null;

  constructor(private url: string, private user: BenchUser, private onDelivery: DeliveryHandler) {}

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** The last tracked id seen on the conversation stream: what a reconnect sends back. */
  get lastEventId(): string | null {
    return this.held?.get(this.conversationSubscription)?.lastEventId ?? null;
  }

  /**
   * The first call opens the conversation stream and `extraSubscriptions`, one frame each (the web
   * app's hooks open them one by one); a reconnect sends every held subscription again in one frame
   * with its last tracked id, as wsLink does, and `extraSubscriptions` is ignored.
   */
  async connect(extraSubscriptions: readonly string[]) {
    const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/trpc`, { headers: { Cookie: `sid=${this.user.token}` }, perMessageDeflate: false });
    this.ws = ws;
    const waiting = (this.waiting = new Map());
    ws.on('message', (raw, isBinary) => {
      if (this.ws === ws) this.receive(raw as Buffer, isBinary);
    });
    ws.on('close', () => {
      rejectAll(waiting);
      if (this.ws === ws) this.onClose?.();
    });
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    this.lastReceived = performance.now();
    this.pingSent = false;
    if (this.held) {
      const all = [...this.held.values()];
      const started = all.map((held) => new Promise((resolve, reject) => this.waiting.set(held.id, { resolve, reject })));
      ws.send(JSON.stringify(all.map(({ id, path, input, lastEventId }) => ({ id, method: 'subscription', params: { input, path, lastEventId } }))));
      await Promise.all(started);
      return;
    }
    const held = (this.held = new Map());
    for (const path of ['conversation.events', ...extraSubscriptions]) {
      const entry: Held = { id: ++this.nextId, path, input: firstInput(path, this.user) };
      held.set(entry.id, entry);
    }
    this.conversationSubscription = [...held.keys()][0]!;
    await Promise.all(
      [...held.values()].map(({ id, path, input }) => {
        const started = new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
        ws.send(JSON.stringify({ id, method: 'subscription', params: { input, path } }));
        return started;
      }),
    );
  }

  private request(method: 'mutation', path: string, input: unknown) {
    const id = ++this.nextId;
    const promise = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.ws!.send(JSON.stringify({ id, method, params: { input, path } }));
    return { id, promise };
  }

  async send(content: string, clientMessageId: string) {
    const { promise } = this.request('mutation', 'message.group', { groupId: this.user.groupId, content, clientMessageId });
    const message = (await promise) as { seq: number };
    return message.seq;
  }

  keepAlive(now: number, intervalMs: number) {
    if (this.pingSent || !this.open || now - this.lastReceived < intervalMs) return;
    this.pingSent = true;
    this.ws!.send('PING');
  }

  private receive(raw: Buffer, isBinary: boolean) {
    this.lastReceived = performance.now();
    this.pingSent = false;
    if (!isBinary && raw.length === 4) {
      const text = raw.toString();
      if (text === 'PING') return void this.ws?.send('PONG');
      if (text === 'PONG') return;
    }
    const message = JSON.parse(raw.toString()) as TrpcResponse;
    if (message.error) {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      waiter?.reject(new Error(`${message.error.data?.code ?? 'ERROR'}: ${message.error.message}`));
      return;
    }
    const result = message.result!;
    const held = result.type === 'data' ? this.held?.get(message.id) : undefined;
    if (held) {
      const { id, data } = result.data as { id?: string; data: unknown };
      if (id !== undefined) held.lastEventId = id;
      if (message.id !== this.conversationSubscription) return; // the other streams' data is not checked
      for (const event of data as MessageEvent[]) if (event.type === 'message') this.onDelivery(event.message!.seq, event.message!.content, DIAG ? Date.parse(event.message!.createdAt!) : undefined);
      return;
    }
    // `started` answers a subscription, `data` a mutation.
    const waiter = this.waiting.get(message.id);
    if (!waiter || result.type === 'stopped') return;
    this.waiting.delete(message.id);
    waiter.resolve(result.data);
  }

  drop() {
    rejectAll(this.waiting);
    this.ws?.terminate();
  }
}

function rejectAll(waiting: Map<unknown, Waiter>) {
  for (const waiter of waiting.values()) waiter.reject(new ClosedError());
  waiting.clear();
}

class SocketIoConnection implements Connection {
  private socket: Socket | null = null;
  onClose: (() => void) | null = null;
  constructor(private url: string, private user: BenchUser, private onDelivery: DeliveryHandler) {}

  get open() {
    return this.socket?.connected ?? false;
  }

  async connect(extraSubscriptions: readonly string[]) {
    const socket = io(this.url, { transports: ['websocket'], auth: { userId: this.user.userId }, reconnection: false, forceNew: true });
    this.socket = socket;
    socket.on('msg', (message: { content: string }) => {
      if (this.socket === socket) this.onDelivery(counterOf(message.content), message.content);
    });
    socket.on('disconnect', () => {
      if (this.socket === socket) this.onClose?.();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    await socket.emitWithAck('join', this.user.groupId);
    // The web app's other subscriptions map to per-user rooms in a Socket.IO app.
    if (extraSubscriptions.length > 0) await socket.emitWithAck('join', -this.user.userId);
  }

  async send(content: string, clientMessageId: string) {
    const socket = this.socket;
    if (!socket?.connected) throw new ClosedError();
    try {
      await socket.emitWithAck('send', { room: this.user.groupId, content, cid: clientMessageId });
    } catch (error) {
      throw socket.connected ? error : new ClosedError();
    }
    return null;
  }

  drop() {
    this.socket?.disconnect();
  }
}

class WsConnection implements Connection {
  private ws: WebSocket | null = null;
  private acks = new Map<string, Waiter>();
  private joined: (() => void) | null = null;
  onClose: (() => void) | null = null;
  constructor(private url: string, private user: BenchUser, private onDelivery: DeliveryHandler) {}

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  async connect(extraSubscriptions: readonly string[]) {
    const ws = new WebSocket(this.url.replace(/^http/, 'ws'), { perMessageDeflate: false });
    this.ws = ws;
    const acks = (this.acks = new Map());
    ws.on('message', (raw) => {
      if (this.ws !== ws) return;
      const message = JSON.parse(raw.toString()) as { t: string; content: string; cid: string };
      if (message.t === 'joined') return void this.joined?.();
      this.onDelivery(counterOf(message.content), message.content);
      const ack = this.acks.get(message.cid);
      if (ack) {
        this.acks.delete(message.cid);
        ack.resolve(null);
      }
    });
    ws.on('close', () => {
      rejectAll(acks);
      if (this.ws === ws) this.onClose?.();
    });
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const rooms = extraSubscriptions.length > 0 ? [this.user.groupId, -this.user.userId] : [this.user.groupId];
    for (const room of rooms) {
      await new Promise<void>((resolve) => {
        this.joined = resolve;
        ws.send(JSON.stringify({ t: 'join', room }));
      });
    }
  }

  async send(content: string, clientMessageId: string) {
    if (!this.open) throw new ClosedError();
    const acked = new Promise((resolve, reject) => this.acks.set(clientMessageId, { resolve, reject }));
    this.ws!.send(JSON.stringify({ t: 'send', room: this.user.groupId, content, cid: clientMessageId }));
    await acked;
    return null;
  }

  drop() {
    rejectAll(this.acks);
    this.ws?.terminate();
  }
}
