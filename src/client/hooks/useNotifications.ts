import { useCallback, useEffect, useRef } from 'react';
import type { NotificationEvent } from '../../shared/notifications.js';
import { isRetryable } from '../logic/errors.js';
import { keepSubscribed } from '../logic/keep-subscribed.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import { trpc, type RouterOutputs } from '../trpc.js';

type NotificationPage = RouterOutputs['notification']['list'];
type Notification = NotificationPage['notifications'][number];

const LIST_INPUT = { limit: 20, unreadOnly: false };

/**
 * The caller's notifications: the newest page, live additions, unread count, mark read.
 *
 * @example
 * const { notifications, unreadCount, markAllRead } = useNotifications({
 *   onNotification: (n) => n.type === 'group.invitation' && refetchInvitations(),
 * });
 */
export function useNotifications({ onNotification }: { onNotification?: (notification: Notification) => void } = {}) {
  const { realtime } = useRealtimeContext();
  const utils = trpc.useUtils();
  const page = trpc.notification.list.useQuery(LIST_INPUT, { staleTime: 30_000 });
  const ready = page.data !== undefined;
  const callback = useRef(onNotification);
  callback.current = onNotification;

  useEffect(() => {
    if (!ready) return;
    const newest = utils.notification.list.getData(LIST_INPUT)?.notifications[0]?.id;
    return keepSubscribed<NotificationEvent[]>(
      (lastEventId, handlers) => {
        const subscription = realtime.trpcClient.notification.stream.subscribe(
          { lastEventId },
          { onData: ({ id, data }) => handlers.onData(id, data), onError: handlers.onError },
        );
        return () => subscription.unsubscribe();
      },
      (data) => {
        for (const event of data) {
          utils.notification.list.setData(LIST_INPUT, (current) => {
            if (!current) return current;
            if (event.type === 'notification') {
              if (current.notifications.some((item) => item.id === event.notification.id)) return current;
              return { ...current, notifications: [event.notification, ...current.notifications], unreadCount: event.unreadCount };
            }
            const readAt = new Date().toISOString();
            return {
              ...current,
              unreadCount: event.unreadCount,
              notifications: current.notifications.map((item) =>
                item.readAt === null && (event.ids === 'all' || event.ids.includes(item.id)) ? { ...item, readAt } : item,
              ),
            };
          });
          if (event.type === 'notification') callback.current?.(event.notification);
        }
      },
      { lastEventId: newest === undefined ? null : String(newest), shouldRetry: isRetryable, onReopen: () => void utils.notification.list.invalidate(LIST_INPUT) },
    );
  }, [realtime, utils, ready]);

  const markRead = trpc.notification.markRead.useMutation({
    onSuccess: (result, input) => {
      const readAt = new Date().toISOString();
      utils.notification.list.setData(LIST_INPUT, (current) =>
        current && {
          ...current,
          unreadCount: result.unreadCount,
          notifications: current.notifications.map((item) =>
            item.readAt === null && ('all' in input || input.ids.includes(item.id)) ? { ...item, readAt } : item,
          ),
        },
      );
    },
  });

  return {
    notifications: page.data?.notifications ?? [],
    unreadCount: page.data?.unreadCount ?? 0,
    status: page.status,
    error: page.error ?? markRead.error,
    markRead: useCallback((ids: number[]) => markRead.mutate({ ids }), [markRead]),
    markAllRead: useCallback(() => markRead.mutate({ all: true }), [markRead]),
  };
}
