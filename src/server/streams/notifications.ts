import { tracked } from '@trpc/server';
import type { NotificationEvent } from '../../shared/notifications.js';
import { topics } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { Notification } from '../db/entities.js';
import { toNotificationDTO } from '../services/notifications.js';
import { linkedAbort } from './abort.js';

const REPLAY_PAGE = 200;

type Options = { userId: number; lastEventId: string | null | undefined; signal: AbortSignal | undefined };

/** `notification.stream`: replay after `lastEventId`, then live; tracked by notification id. */
export async function openNotificationStream({ bus, orm, services }: AppDeps, { userId, lastEventId, signal }: Options) {
  const stop = linkedAbort(signal);
  // Listen before reading: the id check below drops what the replay already sent.
  const live = bus.subscribe(topics.notifications(userId), { signal: stop.signal });
  let cursor: number;
  try {
    if (lastEventId != null) cursor = Number(lastEventId);
    else {
      const [row] = await orm.em.fork().execute<Array<{ id: number | null }>>('SELECT max(id) AS id FROM notifications WHERE user_id = ?', [userId]);
      cursor = Number(row?.id ?? 0);
    }
  } catch (error) {
    stop.abort();
    throw error;
  }

  async function* replay() {
    while (true) {
      const rows = await orm.em.fork().find(Notification, { user: userId, id: { $gt: cursor } }, { orderBy: { id: 'asc' }, limit: REPLAY_PAGE });
      if (rows.length === 0) return;
      cursor = rows.at(-1)!.id;
      const unreadCount = await services.notifications.unreadCount(userId);
      yield rows.map((row): NotificationEvent => ({ type: 'notification', notification: toNotificationDTO(row), unreadCount }));
      if (rows.length < REPLAY_PAGE) return;
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
