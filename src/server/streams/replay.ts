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

/**
 * A stream tracked by one increasing position (a message or notification id): it replays after
 * its cursor when resumed (`lastEventId`) and when the bus dropped events for it, and yields the
 * live events past the cursor as `tracked(cursor, items)`. Subclasses say where an event's
 * position is, what it becomes, and how to read the store after the cursor.
 */
export abstract class CursorStream<E, Item> implements StreamLogic<E, TrackedEnvelope<Item[]>> {
  constructor(
    /** Highest position delivered. */
    protected cursor: number,
    private readonly replayFirst: boolean,
  ) {}

  async start(out: StreamOutput<TrackedEnvelope<Item[]>>) {
    if (this.replayFirst) await this.replayInto(out);
  }

  onBatch(batch: E[], overflowed: boolean, out: StreamOutput<TrackedEnvelope<Item[]>>): void | Promise<void> {
    if (overflowed) return this.replayInto(out).then(() => this.deliver(batch, out));
    this.deliver(batch, out);
  }

  /** The event's position, or null for an event that has none (always delivered). */
  protected abstract positionOf(event: E): number | null;
  protected abstract toItem(event: E): Item;
  /** Emits what is stored after the cursor, page by page, advancing the cursor. */
  protected abstract replayInto(out: StreamOutput<TrackedEnvelope<Item[]>>): Promise<void>;

  private deliver(batch: E[], out: StreamOutput<TrackedEnvelope<Item[]>>) {
    const items: Item[] = [];
    for (const event of batch) {
      const position = this.positionOf(event);
      if (position !== null) {
        if (position <= this.cursor) continue;
        this.cursor = position;
      }
      items.push(this.toItem(event));
    }
    if (items.length > 0) out.emit(tracked(String(this.cursor), items));
  }
}
