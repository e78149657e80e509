import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { BusSubscription, EventBus, Topic } from '../bus/types.js';
import type { StreamLogic, StreamOutput } from './live-stream.js';

/**
 * Starts listening on `topics`, then runs `read` (the database part of the recipe). Listening
 * first is what makes replay + live gap-free: anything committed while `read` runs is queued.
 * The subscription ends when `signal` aborts, when the stream ends (`LiveStream` closes it on
 * its end, failure or `return()`), or if `read` fails.
 */
export async function listenThenRead<E, T>(
  bus: EventBus,
  topics: Topic<E> | readonly Topic<E>[],
  signal: AbortSignal | undefined,
  read: () => Promise<T>,
): Promise<{ live: BusSubscription<E>; value: T }> {
  const live = bus.subscribe(topics, { signal });
  try {
    // A networked bus: the read must not start before the upstream subscription is in place.
    if (bus.whenListening) await bus.whenListening(topics);
    return { live, value: await read() };
  } catch (error) {
    live.close();
    throw error;
  }
}

/**
 * Reads rows after a cursor page by page, in order, handing each page over with the cursor
 * it reaches. Stops at the first short page.
 */
export async function* pagesAfter<Row>(
  from: number,
  pageSize: number,
  fetchPage: (after: number) => Promise<Row[]>,
  positionOf: (row: Row) => number,
): AsyncGenerator<{ rows: Row[]; cursor: number }> {
  let after = from;
  while (true) {
    const rows = await fetchPage(after);
    if (rows.length === 0) return;
    after = positionOf(rows.at(-1)!);
    yield { rows, cursor: after };
    if (rows.length < pageSize) return;
  }
}

/** Where to read below a stream's cursor: after a position, or what was stored recently. */
export type BelowCursor = { after: number } | { withinMs: number };

/** How far back a resumed stream looks below its cursor for events that were published late. */
export const LATE_WINDOW_MS = 10_000;
/**
 * Positions a stream remembers having delivered live above what it read from the database. Past
 * it, the stream settles them through the database (one read) instead of guessing which older
 * ones can no longer arrive late.
 */
export const RECENT_POSITIONS = 256;

/**
 * A stream tracked by one increasing position (a message or notification id): it replays after
 * its cursor when resumed (`lastEventId`) and when the bus dropped events for it, and yields the
 * live events past the cursor as `tracked(cursor, items)`. Subclasses say where an event's
 * position is, what it becomes, and how to read the store after the cursor.
 *
 * Late events (`lateWindowMs` > 0, a bus that may reorder): ids become visible in increasing
 * order (db/commit-order.ts), but two instances publish independently, so id 100 committed on A
 * can arrive after id 101 committed on B. The stream then still delivers 100 (it remembers the
 * last positions it delivered, so nothing goes out twice), and a resumed stream first re-sends
 * what was stored in the last `lateWindowMs` at or below its cursor: a client that disconnected
 * between 101 and the late 100 gets 100 then. Those re-sent events may be ones the client has;
 * it deduplicates by id (the web client does), so each is shown once. When the bus dropped
 * events (overflow, a Redis reconnect), the resynchronisation also reads the positions between
 * the last database read and the cursor that were never delivered.
 */
export abstract class CursorStream<E, Item> implements StreamLogic<E, TrackedEnvelope<Item[]>> {
  /** Every position at or below it was delivered or read from the store. */
  private settled: number;
  /** Positions above `settled` delivered live, oldest first (only when late events are possible). */
  private recent: number[] | null = null;

  constructor(
    /** Highest position delivered. */
    protected cursor: number,
    private readonly replayFirst: boolean,
    private readonly lateWindowMs = 0,
  ) {
    this.settled = cursor;
  }

  async start(out: StreamOutput<TrackedEnvelope<Item[]>>) {
    if (!this.replayFirst) return;
    if (this.lateWindowMs > 0) this.emitLate(out, await this.readBelowCursor({ withinMs: this.lateWindowMs }));
    await this.replay(out);
  }

  onBatch(batch: E[], overflowed: boolean, out: StreamOutput<TrackedEnvelope<Item[]>>): void | Promise<void> {
    if (overflowed) return this.replay(out).then(() => this.deliver(batch, out));
    this.deliver(batch, out);
    // Too many positions to remember: settle them by reading what lies below the cursor.
    if (this.recent !== null && this.recent.length > RECENT_POSITIONS) return this.replay(out);
  }

  /** The event's position, or null for an event that has none (always delivered). */
  protected abstract positionOf(event: E): number | null;
  protected abstract toItem(event: E): Item;
  /** Emits what is stored after the cursor, page by page, advancing the cursor. */
  protected abstract replayInto(out: StreamOutput<TrackedEnvelope<Item[]>>): Promise<void>;
  /** Stored items at or below the cursor, after a position or created in the last `withinMs`, in position order (one page). */
  protected abstract readBelowCursor(from: BelowCursor): Promise<Array<[number, Item]>>;

  private async replay(out: StreamOutput<TrackedEnvelope<Item[]>>) {
    // Live deliveries moved the cursor past positions this stream never saw: some may have been
    // committed and published late, and lost with the events the bus dropped. Read them first.
    if (this.recent !== null) {
      const recent = new Set(this.recent);
      for (let after = this.settled; ; ) {
        const page = await this.readBelowCursor({ after });
        if (page.length === 0) break;
        this.emitLate(out, page.filter(([position]) => !recent.has(position)));
        after = page.at(-1)![0];
      }
    }
    await this.replayInto(out);
    // Ids become visible in order: what the reads did not see at or below the cursor does not exist.
    this.settled = this.cursor;
    this.recent = null;
  }

  private emitLate(out: StreamOutput<TrackedEnvelope<Item[]>>, late: Array<[number, Item]>) {
    if (late.length > 0) out.emit(tracked(String(this.cursor), late.map(([, item]) => item)));
  }

  private deliver(batch: E[], out: StreamOutput<TrackedEnvelope<Item[]>>) {
    const items: Item[] = [];
    for (const event of batch) {
      const position = this.positionOf(event);
      if (position !== null) {
        if (position > this.cursor) this.cursor = position;
        else if (this.lateWindowMs === 0 || position <= this.settled || this.recent?.includes(position)) continue;
        if (this.lateWindowMs > 0) this.remember(position);
      }
      items.push(this.toItem(event));
    }
    if (items.length > 0) out.emit(tracked(String(this.cursor), items));
  }

  /**
   * Only the database can tell which positions below the cursor are still to come: ids are global,
   * so a missing one may belong to someone else's conversation. Dropping the oldest remembered
   * position and taking everything below it as delivered lost late events whenever more than the
   * bound arrived between a newer event and an older one (a burst from several instances).
   */
  private remember(position: number) {
    (this.recent ??= []).push(position);
  }
}
