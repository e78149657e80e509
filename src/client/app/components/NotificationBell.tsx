import { useState } from 'react';
import { useNotifications } from '../../hooks/useNotifications.js';
import { trpc } from '../../trpc.js';

export function NotificationBell({ onOpenConversation }: { onOpenConversation: (conversationId: number) => void }) {
  const utils = trpc.useUtils();
  const [open, setOpen] = useState(false);
  const { notifications, unreadCount, markRead, markAllRead } = useNotifications({
    onNotification: (notification) => {
      // Invitations and membership changes: refresh the groups panel.
      if (notification.type.startsWith('group.')) void utils.group.list.invalidate();
    },
  });
  return (
    <div className="bell">
      <button
        type="button"
        aria-label={`Notifications (${unreadCount} unread)`}
        aria-expanded={open}
        aria-controls="notification-list"
        onClick={() => setOpen(!open)}
      >
        <svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
          <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
          <path d="M13.7 21a2 2 0 0 1-3.4 0" />
        </svg>
        {unreadCount > 0 && <span className="badge">{unreadCount}</span>}
      </button>
      {open && (
        <div className="popover" id="notification-list" role="region" aria-label="Notifications">
          <div className="popover-head">
            <strong>Notifications</strong>
            <button type="button" className="link" onClick={markAllRead} disabled={unreadCount === 0}>
              Mark all read
            </button>
          </div>
          {notifications.length === 0 && <p className="muted">Nothing yet.</p>}
          <ul>
            {notifications.map((notification) => (
              <li key={notification.id} className={notification.readAt ? 'read' : 'unread'}>
                <button
                  type="button"
                  className="notification"
                  onClick={() => {
                    if (!notification.readAt) markRead([notification.id]);
                    if (notification.conversationId) onOpenConversation(notification.conversationId);
                    setOpen(false);
                  }}
                >
                  <span className="notification-title">{notification.content.title}</span>
                  {notification.content.body && <span className="muted">{notification.content.body}</span>}
                  <time dateTime={notification.createdAt}>{new Date(notification.createdAt).toLocaleTimeString()}</time>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
