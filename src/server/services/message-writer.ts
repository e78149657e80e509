import { ConstraintViolationException } from '@mikro-orm/core';
import type { MessageDTO } from '../../shared/dto.js';
import type { Deps } from './deps.js';
import { conflict } from './errors.js';
import { messageStoreFor, type MessageStore } from './message-store/index.js';

export type SendRequest = {
  conversationId: number;
  senderId: number;
  content: string;
  clientMessageId: string;
};

export type SendResult = {
  message: MessageDTO;
  /** False when the clientMessageId was already stored: nothing new was written or published. */
  created: boolean;
};

type Pending = SendRequest & {
  resolve: (result: SendResult) => void;
  reject: (error: unknown) => void;
};

type Outcome = { ok: true; result: SendResult } | { ok: false; error: unknown };

export type MessageWriterOptions = {
  /**
   * Called once per committed batch with its new messages. Calls run one after the other, in
   * commit order, but off the writer's path: callers are answered and the next batch starts
   * without waiting for them.
   */
  onCommitted: (messages: MessageDTO[]) => Promise<void> | void;
  maxBatch?: number;
};

const keyOf = (item: { senderId: number; clientMessageId: string }) => `${item.senderId}\u0000${item.clientMessageId}`;

/**
 * Group commit. Concurrent sends queue up while a transaction is in flight and the next one
 * writes them all: one transaction and one multi-row INSERT per batch instead of one per message
 * (BENCHMARKS.md). Each caller still gets its own stored message. The store numbers each
 * conversation's messages as it appends them (a unique (conversation, seq) index backs them).
 */
export function createMessageWriter({ orm, clock, logger }: Deps, { onCommitted, maxBatch = 256 }: MessageWriterOptions) {
  const store = messageStoreFor(orm);
  let queue: Pending[] = [];
  let draining = false;
  let drained: Promise<void> = Promise.resolve();
  let published: Promise<void> = Promise.resolve();

  async function drain() {
    try {
      while (queue.length > 0) {
        const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
        queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
        await commit(batch, false);
      }
    } finally {
      draining = false;
    }
  }

  /**
   * Writes a batch; `lookUpRetries` first looks for already stored (sender, clientMessageId)
   * keys. The common case (no retry in the batch) skips that lookup; a batch that fails (a retry
   * hitting the unique index, a conversation deleted meanwhile, a dropped connection) is written
   * again with it, then, if a constraint still refuses it, message by message so that a bad
   * message fails only its own caller.
   */
  async function commit(batch: Pending[], lookUpRetries: boolean): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await writeBatch(store, clock, batch, lookUpRetries);
    } catch (error) {
      if (!lookUpRetries) return commit(batch, true);
      // Only a constraint names a bad message; anything else (a lost connection, a database that
      // is down) would fail each one alike: answer the whole batch at once instead of N times slower.
      if (batch.length === 1 || !(error instanceof ConstraintViolationException)) {
        for (const item of batch) item.reject(error);
        return;
      }
      logger.warn({ err: error, size: batch.length }, 'batch failed, retrying its messages one by one');
      for (const item of batch) await commit([item], true);
      return;
    }
    const created = outcomes.flatMap((outcome) => (outcome.ok && outcome.result.created ? [outcome.result.message] : []));
    if (created.length > 0) publish(created);
    outcomes.forEach((outcome, index) => {
      const item = batch[index]!;
      if (outcome.ok) item.resolve(outcome.result);
      else item.reject(outcome.error);
    });
  }

  /** Chained so that batches are published in commit order, never awaited by the writer. */
  function publish(messages: MessageDTO[]) {
    published = published
      .then(() => onCommitted(messages))
      .catch((error: unknown) => logger.error({ err: error }, 'publishing committed messages failed'));
  }

  return {
    /** Resolves once every queued send is committed (stored or refused), published or not. */
    async committed(): Promise<void> {
      await drained;
    },

    /** Resolves once every queued send is committed and published (used on shutdown). */
    async idle(): Promise<void> {
      await drained;
      await published;
    },

    send(request: SendRequest): Promise<SendResult> {
      return new Promise<SendResult>((resolve, reject) => {
        queue.push({ ...request, resolve, reject });
        if (!draining) {
          draining = true;
          // Yield once so sends arriving in the same turn of the event loop share the batch.
          drained = new Promise<void>((resolve) => setImmediate(() => void drain().then(resolve)));
        }
      });
    },
  };
}

/**
 * One batch: the first of each (sender, clientMessageId) key not stored yet is appended (the store
 * numbers it); a retry (stored before, or repeated in the batch) gets the stored message or a
 * conflict.
 */
async function writeBatch(store: MessageStore, clock: Deps['clock'], batch: Pending[], lookUpRetries: boolean): Promise<Outcome[]> {
  return store.runBatch(async (tx) => {
    const stored = new Map<string, MessageDTO>();
    if (lookUpRetries) for (const message of await store.findStored(tx, batch)) stored.set(keyOf(message), message);
    // The first of each key not stored yet is inserted; a repeat in the same batch gets its answer.
    const firstIndexOf = new Map<string, number>();
    const fresh: number[] = [];
    batch.forEach((item, index) => {
      const key = keyOf(item);
      if (stored.has(key) || firstIndexOf.has(key)) return;
      firstIndexOf.set(key, index);
      fresh.push(index);
    });
    const messages = fresh.map((index) => {
      const { conversationId, senderId, content, clientMessageId } = batch[index]!;
      return { conversationId, senderId, content, clientMessageId };
    });
    const createdAt = new Date(clock.now());
    const appended = await store.append(tx, messages, createdAt);
    const createdAtIso = createdAt.toISOString();
    const createdByIndex = new Map<number, MessageDTO>();
    messages.forEach(({ conversationId, senderId, content, clientMessageId }, position) => {
      const { id, seq } = appended[position]!;
      createdByIndex.set(fresh[position]!, { id, conversationId, seq, senderId, content, clientMessageId, createdAt: createdAtIso });
    });
    return batch.map((item, index): Outcome => {
      const own = createdByIndex.get(index);
      if (own) return { ok: true, result: { message: own, created: true } };
      return sameMessage(stored.get(keyOf(item)) ?? createdByIndex.get(firstIndexOf.get(keyOf(item))!)!, item);
    });
  }, { lookUpRetries });
}

/** An idempotent retry returns the stored message; reusing its id for another message is a conflict. */
function sameMessage(previous: MessageDTO, request: SendRequest): Outcome {
  if (previous.conversationId !== request.conversationId || previous.content !== request.content) {
    return { ok: false, error: conflict('clientMessageId was already used for a different message') };
  }
  return { ok: true, result: { message: previous, created: false } };
}

export type MessageWriter = ReturnType<typeof createMessageWriter>;
