import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { NotificationEvent } from '../../shared/notifications.js';
import { topics } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { Notification } from '../db/entities.js';
import { toNotificationDTO } from '../services/notifications.js';
import { LiveStream, type StreamOutput } from './live-stream.js';
import { CursorStream, listenThenRead, pagesAfter } from './replay.js';

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
  return new LiveStream(live, new NotificationStreamLogic(deps.services, orm, userId, start, lastEventId != null));
}

type Out = TrackedEnvelope<NotificationEvent[]>;

/** What one open notification stream keeps between events, and what it does with them. */
class NotificationStreamLogic extends CursorStream<NotificationEvent, NotificationEvent> {
  constructor(
    // The shared services, not the request's context object: an open stream keeps only what it uses.
    private readonly services: AppDeps['services'],
    private readonly orm: AppDeps['orm'],
    private readonly userId: number,
    cursor: number,
    replayFirst: boolean,
  ) {
    super(cursor, replayFirst);
  }

  protected positionOf(event: NotificationEvent): number | null {
    return event.type === 'notification' ? event.notification.id : null;
  }

  protected toItem(event: NotificationEvent): NotificationEvent {
    return event;
  }

  /** Stored notifications after the cursor, page by page, each page with the current unread count. */
  protected async replayInto(out: StreamOutput<Out>) {
    const { orm, services, userId } = this;
    const pages = pagesAfter(
      this.cursor,
      REPLAY_PAGE,
      (after) => orm.em.fork().find(Notification, { user: userId, id: { $gt: after } }, { orderBy: { id: 'asc' }, limit: REPLAY_PAGE }),
      (row) => row.id,
    );
    for await (const page of pages) {
      this.cursor = page.cursor;
      const unreadCount = await services.notifications.unreadCount(userId);
      out.emit(tracked(String(this.cursor), page.rows.map((row): NotificationEvent => ({ type: 'notification', notification: toNotificationDTO(row), unreadCount }))));
    }
  }
}
