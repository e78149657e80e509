import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { NotificationEvent } from '../../shared/notifications.js';
import { topics } from '../bus/topics.js';
import type { AppDeps } from '../context.js';
import { Notification } from '../db/entities.js';
import { toNotificationDTO } from '../services/notifications.js';
import { LiveStream, type StreamLogic, type StreamSink } from './live-stream.js';
import { listenThenRead, pagesAfter } from './replay.js';

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
  return new LiveStream(live, new NotificationLive(deps.services, orm, userId, start, lastEventId != null));
}

type Out = TrackedEnvelope<NotificationEvent[]>;

/** What one open notification stream keeps between events, and what it does with them. */
class NotificationLive implements StreamLogic<NotificationEvent, Out> {
  constructor(
    // The shared services, not the request's context object: an open stream keeps only what it uses.
    private readonly services: AppDeps['services'],
    private readonly orm: AppDeps['orm'],
    private readonly userId: number,
    /** Highest notification id delivered. */
    private cursor: number,
    private replayFirst: boolean,
  ) {}

  async start(sink: StreamSink<Out>) {
    if (this.replayFirst) await this.replayInto(sink);
  }

  onBatch(batch: NotificationEvent[], overflowed: boolean, sink: StreamSink<Out>): void | Promise<void> {
    if (overflowed) return this.replayInto(sink).then(() => this.deliver(batch, sink));
    this.deliver(batch, sink);
  }

  private deliver(batch: NotificationEvent[], sink: StreamSink<Out>) {
    const out: NotificationEvent[] = [];
    for (const event of batch) {
      if (event.type === 'notification') {
        if (event.notification.id <= this.cursor) continue;
        this.cursor = event.notification.id;
      }
      out.push(event);
    }
    if (out.length > 0) sink.emit(tracked(String(this.cursor), out));
  }

  /** Stored notifications after the cursor, page by page, each page with the current unread count. */
  private async replayInto(sink: StreamSink<Out>) {
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
      sink.emit(tracked(String(this.cursor), page.rows.map((row): NotificationEvent => ({ type: 'notification', notification: toNotificationDTO(row), unreadCount }))));
    }
  }
}
