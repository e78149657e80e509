import { tracked } from '@trpc/server';
import type { ConversationEvent } from '../../shared/events.js';
import { topics } from '../bus/topics.js';
import type { BusSubscription } from '../bus/types.js';
import type { AppDeps } from '../context.js';
import { Message } from '../db/entities.js';
import { toMessageDTO } from '../services/mappers.js';
import { listenThenRead, LiveStream, pagesAfter } from './replay.js';

const REPLAY_PAGE = 500;

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
  const typing = deps.services.typing
    .typists(conversationId)
    .filter((typist) => typist !== userId)
    .map((typist): ConversationEvent => ({ type: 'typing', conversationId, userId: typist, typing: true }));
  const state: StreamState = { services: deps.services, orm: deps.orm, userId, conversationId, live, cursor: start, replayFirst: lastEventId != null, typing };
  return new LiveStream(conversationEvents(state), live);
}

/** What one open stream holds between events (the generators below are module-level, so nothing else is kept per stream). */
type StreamState = {
  // The shared services, not the request's context object: an open stream keeps only what it uses.
  services: AppDeps['services'];
  orm: AppDeps['orm'];
  userId: number;
  conversationId: number;
  live: BusSubscription<ConversationEvent>;
  /** Highest seq delivered. */
  cursor: number;
  replayFirst: boolean;
  typing: ConversationEvent[] | null;
};

async function* conversationEvents(state: StreamState) {
  const { live, userId, conversationId, services } = state;
  try {
    if (state.replayFirst) for await (const events of replay(state)) yield tracked(String(state.cursor), events);
    if (state.typing && state.typing.length > 0) yield tracked(String(state.cursor), state.typing);
    state.typing = null;

    for await (const batch of live) {
      // Membership can change while the stream is open: a member who left gets nothing more.
      const members = services.membership.cached(conversationId) ?? (await services.membership.members(conversationId));
      if (!members.has(userId)) return;
      if (live.takeOverflow()) for await (const events of replay(state)) yield tracked(String(state.cursor), events);

      const out: ConversationEvent[] = [];
      for (const event of batch) {
        if (event.type === 'message') {
          const { seq } = event.message;
          if (seq <= state.cursor) continue;
          // A gap (dropped or reordered by a transport): fill it from the database first.
          if (seq > state.cursor + 1) for await (const events of replay(state, seq)) out.push(...events);
          state.cursor = seq;
        } else if (event.type === 'typing' && event.userId === userId) {
          continue; // the typist does not hear its own typing
        }
        out.push(event);
      }
      if (out.length > 0) yield tracked(String(state.cursor), out);
    }
  } finally {
    live.close();
  }
}

/** Stored messages after the cursor (and before `upTo`), page by page, advancing the cursor. */
async function* replay(state: StreamState, upTo = Number.MAX_SAFE_INTEGER) {
  const { orm } = state;
  const { conversationId } = state;
  const pages = pagesAfter(
    state.cursor,
    REPLAY_PAGE,
    (after) =>
      orm.em.fork().find(Message, { conversation: conversationId, seq: { $gt: after, $lt: upTo } }, { orderBy: { seq: 'asc' }, limit: REPLAY_PAGE }),
    (row) => row.seq,
  );
  for await (const page of pages) {
    state.cursor = page.cursor;
    yield page.rows.map((row): ConversationEvent => ({ type: 'message', message: toMessageDTO(row) }));
  }
}

async function latestSeq({ orm }: AppDeps, conversationId: number): Promise<number> {
  const [row] = await orm.em
    .fork()
    .execute<Array<{ lastSeq: number | null }>>('SELECT max(seq) AS lastSeq FROM messages WHERE conversation_id = ?', [conversationId]);
  return Number(row?.lastSeq ?? 0);
}
