import { useEffect, useRef, useState } from 'react';
import { useInvitationResponse } from '../../hooks/useInvitationResponse.js';
import { useNotifications } from '../../hooks/useNotifications.js';
import { readableError } from '../../logic/errors.js';
import { dayLabel } from '../../logic/format.js';
import { chatIdFromPath } from '../route.js';
import { trpc } from '../../trpc.js';

/** The bell: unread count, the newest notifications, and invitations answered right here. */
export function NotificationBell({ onOpenConversation }: { onOpenConversation: (conversationId: number) => void }) {
  const utils = trpc.useUtils();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const groups = trpc.group.list.useQuery(undefined, { staleTime: 30_000 });
  const respond = useInvitationResponse((conversationId) => {
    setOpen(false);
    onOpenConversation(conversationId);
  });
  const { notifications, unreadCount, markRead, markAllRead } = useNotifications({
    onNotification: (notification) => {
      // Invitations and membership changes: refresh the groups panel.
      if (notification.type.startsWith('group.')) void utils.group.list.invalidate();
    },
  });
  const pendingInvitations = new Set((groups.data?.invitations ?? []).filter((item) => item.status === 'pending').map((item) => item.id));

  // Escape or a click outside closes it; focus goes back to the bell.
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer);
    };
  }, [open]);

  function openTarget(notification: (typeof notifications)[number]) {
    if (!notification.readAt) markRead([notification.id]);
    const target = notification.conversationId ?? (notification.content.url ? chatIdFromPath(notification.content.url) : null);
    if (target !== null) onOpenConversation(target);
    setOpen(false);
  }

  return (
    <div className="bell" ref={root}>
      <button
        ref={button}
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
          {respond.error && <p role="alert" className="error">{readableError(respond.error)}</p>}
          <ul>
            {notifications.map((notification) => {
              const invitationId = notification.type === 'group.invitation' ? notification.content.data?.invitationId : undefined;
              const answerable = typeof invitationId === 'number' && pendingInvitations.has(invitationId);
              return (
                <li key={notification.id} className={notification.readAt ? 'read' : 'unread'}>
                  <button type="button" className="notification" onClick={() => openTarget(notification)}>
                    <span className="notification-title">{notification.content.title}</span>
                    {notification.content.body && <span className="muted notification-body">{notification.content.body}</span>}
                    <time dateTime={notification.createdAt}>
                      {dayLabel(notification.createdAt)}, {new Date(notification.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
                    </time>
                  </button>
                  {answerable && (
                    <span className="actions">
                      <button type="button" disabled={respond.isPending} onClick={() => respond.mutate({ invitationId, accept: true })}>
                        Accept
                      </button>
                      <button type="button" className="secondary" disabled={respond.isPending} onClick={() => respond.mutate({ invitationId, accept: false })}>
                        Decline
                      </button>
                    </span>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </div>
  );
}
