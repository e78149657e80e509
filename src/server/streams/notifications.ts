import { tracked } from '@trpc/server';
import type { NotificationEvent } from '../../shared/notifications.js';
import { topics } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { Notification } from '../db/entities.js';
import { toNotificationDTO } from '../services/notifications.js';
import { listenThenRead, pagesAfter } from './replay.js';

const REPLAY_PAGE = 200;

type Options = {
  userId: number;
  lastEventId: string | null | undefined;
  signal: AbortSignal | undefined;
  /** Called once when the stream ends, however it ends. */
  onEnd?: () => void;
};

/** `notification.stream`: replay after `lastEventId`, then live; tracked by notification id. */
export async function openNotificationStream({ bus, orm, services }: AppDeps, { userId, lastEventId, signal, onEnd }: Options) {
  // Listen before reading: the id check below drops what the replay already sent.
  const { live, stop, value: start } = await listenThenRead(bus, topics.notifications(userId), signal, async () => {
    if (lastEventId != null) return Number(lastEventId);
    const [row] = await orm.em.fork().execute<Array<{ id: number | null }>>('SELECT max(id) AS id FROM notifications WHERE user_id = ?', [userId]);
    return Number(row?.id ?? 0);
  }, onEnd);
  let cursor = start;

  async function* replay() {
    const pages = pagesAfter(
      cursor,
      REPLAY_PAGE,
      (after) => orm.em.fork().find(Notification, { user: userId, id: { $gt: after } }, { orderBy: { id: 'asc' }, limit: REPLAY_PAGE }),
      (row) => row.id,
    );
    for await (const page of pages) {
      cursor = page.cursor;
      const unreadCount = await services.notifications.unreadCount(userId);
      yield page.rows.map((row): NotificationEvent => ({ type: 'notification', notification: toNotificationDTO(row), unreadCount }));
    }
  }

  return (async function* () {
    try {
      if (lastEventId != null) for await (const events of replay()) yield tracked(String(cursor), events);
      for await (const batch of live) {
        if (live.takeOverflow()) for await (const events of replay()) yield tracked(String(cursor), events);
        const out: NotificationEvent[] = [];
        for (const event of batch) {
          if (event.type === 'notification') {
            if (event.notification.id <= cursor) continue;
            cursor = event.notification.id;
          }
          out.push(event);
        }
        if (out.length > 0) yield tracked(String(cursor), out);
      }
    } finally {
      stop.abort();
    }
  })();
}
