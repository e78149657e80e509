import { tracked } from '@trpc/server';
import type { NotificationEvent } from '../../shared/notifications.js';
import { topics } from '../bus/topics.js';
import type { BusSubscription } from '../bus/types.js';
import type { AppDeps } from '../context.js';
import { Notification } from '../db/entities.js';
import { toNotificationDTO } from '../services/notifications.js';
import { listenThenRead, LiveStream, pagesAfter } from './replay.js';

const REPLAY_PAGE = 200;

type Options = {
  userId: number;
  lastEventId: string | null | undefined;
  signal: AbortSignal | undefined;
};

/** `notification.stream`: replay after `lastEventId`, then live; tracked by notification id. */
export async function openNotificationStream(deps: AppDeps, { userId, lastEventId, signal }: Options) {
  const { bus, orm } = deps;
  // Listen before reading: the id check below drops what the replay already sent.
  const { live, value: start } = await listenThenRead(bus, topics.notifications(userId), signal, async () => {
    if (lastEventId != null) return Number(lastEventId);
    const [row] = await orm.em.fork().execute<Array<{ id: number | null }>>('SELECT max(id) AS id FROM notifications WHERE user_id = ?', [userId]);
    return Number(row?.id ?? 0);
  });
  return new LiveStream(notificationEvents({ services: deps.services, orm, userId, live, cursor: start, replayFirst: lastEventId != null }), live);
}

/** What one open stream holds between events (the generators below are module-level). */
type StreamState = {
  // The shared services, not the request's context object: an open stream keeps only what it uses.
  services: AppDeps['services'];
  orm: AppDeps['orm'];
  userId: number;
  live: BusSubscription<NotificationEvent>;
  /** Highest notification id delivered. */
  cursor: number;
  replayFirst: boolean;
};

async function* notificationEvents(state: StreamState) {
  const { live } = state;
  try {
    if (state.replayFirst) for await (const events of replay(state)) yield tracked(String(state.cursor), events);
    for await (const batch of live) {
      if (live.takeOverflow()) for await (const events of replay(state)) yield tracked(String(state.cursor), events);
      const out: NotificationEvent[] = [];
      for (const event of batch) {
        if (event.type === 'notification') {
          if (event.notification.id <= state.cursor) continue;
          state.cursor = event.notification.id;
        }
        out.push(event);
      }
      if (out.length > 0) yield tracked(String(state.cursor), out);
    }
  } finally {
    live.close();
  }
}

/** Stored notifications after the cursor, page by page, each page with the current unread count. */
async function* replay(state: StreamState) {
  const { orm, services, userId } = state;
  const pages = pagesAfter(
    state.cursor,
    REPLAY_PAGE,
    (after) => orm.em.fork().find(Notification, { user: userId, id: { $gt: after } }, { orderBy: { id: 'asc' }, limit: REPLAY_PAGE }),
    (row) => row.id,
  );
  for await (const page of pages) {
    state.cursor = page.cursor;
    const unreadCount = await services.notifications.unreadCount(userId);
    yield page.rows.map((row): NotificationEvent => ({ type: 'notification', notification: toNotificationDTO(row), unreadCount }));
  }
}
