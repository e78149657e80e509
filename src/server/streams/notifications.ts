import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { NotificationEvent } from '../../shared/notifications.js';
import { topics } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { Notification } from '../db/entities.js';
import { dateOf, jsonOf, preparedReadsOf } from '../db/prepared.js';
import { toNotificationDTO } from '../services/notifications.js';
import type { NotificationDTO, NotificationType } from '../../shared/notifications.js';
import { LiveStream, type StreamOutput } from './live-stream.js';
import { CursorStream, LATE_WINDOW_MS, listenThenRead, pagesAfter, type BelowCursor } from './replay.js';

const REPLAY_PAGE = 200;
// Prepared reads: every (re)subscription runs one of them.
export const NOTIFICATIONS_LATEST_ID = 'SELECT max(id) AS "id" FROM notifications WHERE user_id = ?';
export const NOTIFICATIONS_PAGE_AFTER = `SELECT id AS "id", type AS "type", content AS "content", conversation_id AS "conversationId", group_id AS "groupId",
  created_at AS "createdAt", read_at AS "readAt" FROM notifications WHERE user_id = ? AND id > ? ORDER BY id LIMIT ${REPLAY_PAGE}`;

type NotificationRow = { id: number; type: string; content: unknown; conversationId: number | null; groupId: number | null; createdAt: unknown; readAt: unknown };

/** As `toNotificationDTO` maps the entity. */
const rowToDTO = (row: NotificationRow): NotificationDTO => ({
  id: Number(row.id),
  type: row.type as NotificationType,
  content: jsonOf(row.content),
  conversationId: row.conversationId ?? null,
  groupId: row.groupId ?? null,
  createdAt: dateOf(row.createdAt).toISOString(),
  readAt: row.readAt === null || row.readAt === undefined ? null : dateOf(row.readAt).toISOString(),
});

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
    const [row] = await preparedReadsOf(orm).all<{ id: number | null }>(NOTIFICATIONS_LATEST_ID, [userId]);
    return Number(row?.id ?? 0);
  });
  const lateWindowMs = bus.mayReorder ? LATE_WINDOW_MS : 0;
  return new LiveStream(live, new NotificationStreamLogic(deps.services, orm, deps.clock, userId, start, lastEventId != null, lateWindowMs));
}

type Out = TrackedEnvelope<NotificationEvent[]>;

/** What one open notification stream keeps between events, and what it does with them. */
class NotificationStreamLogic extends CursorStream<NotificationEvent, NotificationEvent> {
  constructor(
    // The shared services, not the request's context object: an open stream keeps only what it uses.
    private readonly services: AppDeps['services'],
    private readonly orm: AppDeps['orm'],
    private readonly clock: AppDeps['clock'],
    private readonly userId: number,
    cursor: number,
    replayFirst: boolean,
    lateWindowMs: number,
  ) {
    super(cursor, replayFirst, lateWindowMs);
  }

  protected async readBelowCursor(from: BelowCursor): Promise<Array<[number, NotificationEvent]>> {
    const { orm, services, userId } = this;
    const lower = 'after' in from ? { id: { $gt: from.after, $lte: this.cursor } } : { id: { $lte: this.cursor }, createdAt: { $gte: new Date(this.clock.now() - from.withinMs) } };
    const rows = await orm.em.fork().find(Notification, { user: userId, ...lower }, { orderBy: { id: 'asc' }, limit: REPLAY_PAGE });
    if (rows.length === 0) return [];
    const unreadCount = await services.notifications.unreadCount(userId);
    return rows.map((row): [number, NotificationEvent] => [row.id, { type: 'notification', notification: toNotificationDTO(row), unreadCount }]);
  }

  protected positionOf(event: NotificationEvent): number | null {
    return event.type === 'notification' ? event.notification.id : null;
  }

  protected toItem(event: NotificationEvent): NotificationEvent {
    return event;
  }

  /** Stored notifications after the cursor, page by page, each page with the current unread count. */
  protected async replayInto(out: StreamOutput<Out>) {
    const { services, userId } = this;
    const reads = preparedReadsOf(this.orm);
    const pages = pagesAfter(this.cursor, REPLAY_PAGE, (after) => reads.all<NotificationRow>(NOTIFICATIONS_PAGE_AFTER, [userId, after]), (row) => Number(row.id));
    for await (const page of pages) {
      this.cursor = page.cursor;
      const unreadCount = await services.notifications.unreadCount(userId);
      out.emit(tracked(String(this.cursor), page.rows.map((row): NotificationEvent => ({ type: 'notification', notification: rowToDTO(row), unreadCount }))));
    }
  }
}
