import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { ConversationEvent } from '../../shared/events.js';
import { topics } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { preparedReadsOf } from '../db/prepared.js';
import { MESSAGE_ROW_COLUMNS, messageRowToDTO, type MessageRow } from '../services/mappers.js';
import { END, LiveStream, type BatchResult, type StreamLogic, type StreamOutput } from './live-stream.js';
import { listenThenRead, pagesAfter } from './replay.js';

const REPLAY_PAGE = 500;
// Prepared reads: every (re)subscription runs one of these (a reconnect storm, thousands at once).
// The page size is written into the SQL: SQLite runs `LIMIT ?` about 10 µs slower than a literal.
const PAGE_AFTER = `SELECT ${MESSAGE_ROW_COLUMNS} FROM messages m WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ${REPLAY_PAGE}`;
const PAGE_BETWEEN = `SELECT ${MESSAGE_ROW_COLUMNS} FROM messages m WHERE m.conversation_id = ? AND m.seq > ? AND m.seq < ? ORDER BY m.seq LIMIT ${REPLAY_PAGE}`;
const LATEST_SEQ = 'SELECT max(seq) AS "lastSeq" FROM messages WHERE conversation_id = ?';

type Options = {
  userId: number;
  conversationId: number;
  lastEventId: string | null | undefined;
  signal: AbortSignal | undefined;
};

/**
 * `conversation.events`: replay after `lastEventId`, then live. Batches are tracked with the
 * highest message seq delivered so far. The caller must be authorized first. Listening starts
 * before this resolves, so a caller that sends right after subscribing misses nothing.
 */
export async function openConversationStream(deps: AppDeps, { userId, conversationId, lastEventId, signal }: Options) {
  // Listen before reading the database: whatever commits during the replay is queued, and the
  // seq check below drops what the replay already sent.
  const { live, value: start } = await listenThenRead(
    deps.bus,
    topics.conversation(conversationId),
    signal,
    async () => (lastEventId != null ? Number(lastEventId) : latestSeq(deps, conversationId)),
  );
  // A late subscriber first learns who is typing now (taken after listening: a change in
  // between arrives again live, and typing events are idempotent).
  // Who blocked this subscriber: their typing is not shown to them (a live set, see blocks.ts).
  const blockers = await deps.services.blocks.blockersOf(userId);
  const typing = (await typistsOrNone(deps.services, conversationId))
    .filter((typist) => typist !== userId && !blockers.has(typist))
    .map((typist): ConversationEvent => ({ type: 'typing', conversationId, userId: typist, typing: true }));
  return new LiveStream(live, new ConversationStreamLogic(deps.services, deps.orm, userId, conversationId, start, lastEventId != null, typing, blockers));
}

type Out = TrackedEnvelope<ConversationEvent[]>;

/** What one open conversation stream keeps between events, and what it does with them. */
class ConversationStreamLogic implements StreamLogic<ConversationEvent, Out> {
  constructor(
    // The shared services, not the request's context object: an open stream keeps only what it uses.
    private readonly services: AppDeps['services'],
    private readonly orm: AppDeps['orm'],
    private readonly userId: number,
    private readonly conversationId: number,
    /** Highest seq delivered. */
    private cursor: number,
    private replayFirst: boolean,
    private typing: ConversationEvent[] | null,
    private readonly blockers: ReadonlySet<number>,
  ) {}

  async start(out: StreamOutput<Out>) {
    if (this.replayFirst) await this.replayInto(out);
    if (this.typing && this.typing.length > 0) out.emit(tracked(String(this.cursor), this.typing));
    this.typing = null;
  }

  onBatch(batch: ConversationEvent[], overflowed: boolean, out: StreamOutput<Out>): BatchResult | Promise<BatchResult> {
    const members = this.services.membership.cached(this.conversationId);
    if (members === undefined || overflowed) return this.onBatchReading(batch, overflowed, out);
    // Membership can change while the stream is open: a member who left gets nothing more.
    if (!members.has(this.userId)) return END;
    // The common case, every event new and in order: the batch (this stream's own array) is
    // yielded as it is.
    if (this.allNew(batch)) {
      out.emit(tracked(String(this.cursor), batch));
      return;
    }
    return this.deliver(batch, 0, [], out);
  }

  private hidesTypingOf(typistId: number): boolean {
    return typistId === this.userId || (this.blockers.size > 0 && this.blockers.has(typistId));
  }

  /** True, and the cursor moved to the batch's last message, if `deliver` would keep every event unchanged. */
  private allNew(batch: ConversationEvent[]): boolean {
    let cursor = this.cursor;
    for (const event of batch) {
      if (event.type === 'message') {
        if (event.message.seq !== cursor + 1) return false;
        cursor = event.message.seq;
      } else if (event.type === 'typing' && this.hidesTypingOf(event.userId)) return false;
    }
    this.cursor = cursor;
    return true;
  }

  /** The same, when the membership is not cached or the bus dropped events (resynchronise first). */
  private async onBatchReading(batch: ConversationEvent[], overflowed: boolean, out: StreamOutput<Out>): Promise<BatchResult> {
    const members = await this.services.membership.members(this.conversationId);
    if (!members.has(this.userId)) return END;
    if (overflowed) {
      await this.replayInto(out);
      // Typing events were dropped too (a Redis blip): who types now, as a late subscriber learns it.
      const typing = (await typistsOrNone(this.services, this.conversationId)).filter((typist) => !this.hidesTypingOf(typist));
      if (typing.length > 0) out.emit(tracked(String(this.cursor), typing.map((userId): ConversationEvent => ({ type: 'typing', conversationId: this.conversationId, userId, typing: true }))));
    }
    return this.deliver(batch, 0, [], out);
  }

  /** `batch[from…]` after what `kept` holds; a gap in seqs is filled from the database first (only then asynchronously). */
  private deliver(batch: ConversationEvent[], from: number, kept: ConversationEvent[], out: StreamOutput<Out>): void | Promise<void> {
    for (let index = from; index < batch.length; index++) {
      const event = batch[index]!;
      if (event.type === 'message') {
        const { seq } = event.message;
        if (seq <= this.cursor) continue;
        // A gap (dropped or reordered by a transport): fill it from the database first.
        if (seq > this.cursor + 1) return this.fillGap(batch, index, kept, out);
        this.cursor = seq;
      } else if (event.type === 'typing' && this.hidesTypingOf(event.userId)) {
        continue; // the typist does not hear its own typing, nor anyone a blocker's
      }
      kept.push(event);
    }
    if (kept.length > 0) out.emit(tracked(String(this.cursor), kept));
  }

  private async fillGap(batch: ConversationEvent[], index: number, kept: ConversationEvent[], out: StreamOutput<Out>): Promise<void> {
    const event = batch[index] as Extract<ConversationEvent, { type: 'message' }>;
    for await (const events of this.replay(event.message.seq)) kept.push(...events);
    this.cursor = event.message.seq;
    kept.push(event);
    return this.deliver(batch, index + 1, kept, out);
  }

  private async replayInto(out: StreamOutput<Out>) {
    for await (const events of this.replay()) out.emit(tracked(String(this.cursor), events));
  }

  /** Stored messages after the cursor (and before `upTo`), page by page, advancing the cursor. */
  private async *replay(upTo?: number) {
    const { conversationId } = this;
    const reads = preparedReadsOf(this.orm);
    const pages = pagesAfter(
      this.cursor,
      REPLAY_PAGE,
      (after) =>
        upTo === undefined
          ? reads.all<MessageRow>(PAGE_AFTER, [conversationId, after])
          : reads.all<MessageRow>(PAGE_BETWEEN, [conversationId, after, upTo]),
      (row) => Number(row.seq),
    );
    for await (const page of pages) {
      this.cursor = page.cursor;
      yield page.rows.map((row): ConversationEvent => ({ type: 'message', message: messageRowToDTO(row) }));
    }
  }
}

/**
 * Who types now, or nobody if the typing store cannot answer (Redis reconnecting): typing is
 * ephemeral, and a stream must not fail for it.
 */
function typistsOrNone(services: AppDeps['services'], conversationId: number): Promise<number[]> {
  return services.typing.typists(conversationId).catch(() => []);
}

async function latestSeq({ orm }: AppDeps, conversationId: number): Promise<number> {
  const [row] = await preparedReadsOf(orm).all<{ lastSeq: number | null }>(LATEST_SEQ, [conversationId]);
  return Number(row?.lastSeq ?? 0);
}
