/**
 * Notification types: the one place to extend. Add a name to NOTIFICATION_TYPES (and, if the
 * rest of the social network pushes it, to PUSHABLE_NOTIFICATION_TYPES); the schemas, the
 * router and the client types follow from it.
 */
import { z } from 'zod';
import { idSchema } from './schemas.js';
import { textSchema } from './text.js';

/** Produced by this server itself. */
export const DOMAIN_NOTIFICATION_TYPES = [
  'group.invitation',
  'group.invitation.accepted',
  'group.removed',
  'message',
] as const;

/** Sent by trusted backend code through `notification.push`. */
export const PUSHABLE_NOTIFICATION_TYPES = ['like', 'comment', 'follow', 'mention', 'system'] as const;

export const NOTIFICATION_TYPES = [...DOMAIN_NOTIFICATION_TYPES, ...PUSHABLE_NOTIFICATION_TYPES] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];
export type PushableNotificationType = (typeof PUSHABLE_NOTIFICATION_TYPES)[number];

/** What a notification says; bounded so no caller can store or fan out large blobs. */
export const notificationContentSchema = z.object({
  title: textSchema({ min: 1, max: 120 }),
  body: textSchema({ max: 500 }).optional(),
  /** Where the client should take the user: an app path (`/posts/42`) or an http(s) URL. */
  url: textSchema({ max: 500, trim: false })
    .refine((value) => value.startsWith('/') || /^https?:\/\//.test(value), 'must be a path or an http(s) URL')
    .optional(),
  /** The user who caused it (who liked, who invited). */
  actorId: idSchema.optional(),
  /** Small extra fields for the client (ids of the post, comment…). */
  data: z
    .record(textSchema({ min: 1, max: 40, trim: false }), z.union([textSchema({ max: 200, trim: false }), z.number(), z.boolean()]))
    .refine((record) => Object.keys(record).length <= 20, 'at most 20 fields')
    .optional(),
});
export type NotificationContent = z.infer<typeof notificationContentSchema>;

export type NotificationDTO = {
  id: number;
  type: NotificationType;
  content: NotificationContent;
  /** The conversation or group it concerns, when it concerns one. */
  conversationId: number | null;
  groupId: number | null;
  createdAt: string;
  readAt: string | null;
};

/** Events on `notification.stream`, in batches tracked by notification id. */
export type NotificationEvent =
  | { type: 'notification'; notification: NotificationDTO; unreadCount: number }
  | { type: 'read'; ids: number[] | 'all'; unreadCount: number };

export type NotificationPageDTO = {
  /** Newest first. */
  notifications: NotificationDTO[];
  nextCursor: number | null;
  unreadCount: number;
};

export const notificationPushInput = z.object({
  type: z.enum(PUSHABLE_NOTIFICATION_TYPES),
  userId: idSchema,
  content: notificationContentSchema,
});
