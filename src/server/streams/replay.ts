import type { BusSubscription, EventBus, Topic } from '../bus/types.js';

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
