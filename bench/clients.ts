/**
 * Lean clients for the three servers, one connection per user. The tRPC one speaks the
 * WebSocket wire protocol exactly as `wsLink` does: `{ id, method, params: { input, path,
 * lastEventId } }` out, `{ id, result: { type: 'started' | 'data' | 'stopped', id?, data } }`
 * or `{ id, error }` in, and "PONG" for every "PING".
 */
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

class TrpcConnection implements Connection {
  private ws: WebSocket | null = null;
  private nextId = 0;
  private waiting = new Map<number, Waiter>();
  private conversationSubscription = -1;
  /** The last tracked id seen on the conversation stream: what a reconnect sends back. */
  lastEventId: string | null = null;
  onClose: (() => void) | null = null;

  constructor(private url: string, private user: BenchUser, private onDelivery: DeliveryHandler) {}

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

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
    const starts = [this.subscribe('conversation.events', { conversationId: this.user.conversationId }, this.lastEventId ?? undefined, true)];
    for (const path of extraSubscriptions) starts.push(this.subscribe(path, path === 'inbox.events' || path === 'notification.stream' || path === 'presence.watch' ? {} : undefined));
    await Promise.all(starts);
  }

  private request(method: 'mutation' | 'subscription', path: string, input: unknown, lastEventId?: string) {
    const id = ++this.nextId;
    const promise = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.ws!.send(JSON.stringify({ id, method, params: { input, path, lastEventId } }));
    return { id, promise };
  }

  private async subscribe(path: string, input: unknown, lastEventId?: string, conversation = false) {
    const { id, promise } = this.request('subscription', path, input, lastEventId);
    if (conversation) this.conversationSubscription = id;
    await promise;
  }

  async send(content: string, clientMessageId: string) {
    const { promise } = this.request('mutation', 'message.group', { groupId: this.user.groupId, content, clientMessageId });
    const message = (await promise) as { seq: number };
    return message.seq;
  }

  private receive(raw: Buffer, isBinary: boolean) {
    if (!isBinary && raw.length === 4 && raw.toString() === 'PING') return void this.ws?.send('PONG');
    const message = JSON.parse(raw.toString()) as TrpcResponse;
    if (message.error) {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      waiter?.reject(new Error(`${message.error.data?.code ?? 'ERROR'}: ${message.error.message}`));
      return;
    }
    const result = message.result!;
    if (result.type === 'data' && message.id === this.conversationSubscription) {
      const { id, data } = result.data as { id: string; data: MessageEvent[] };
      for (const event of data) if (event.type === 'message') this.onDelivery(event.message!.seq, event.message!.content, DIAG ? Date.parse(event.message!.createdAt!) : undefined);
      this.lastEventId = id;
      return;
    }
    // `started` answers a subscription, `data` a mutation; data of the other subscriptions is ignored.
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
