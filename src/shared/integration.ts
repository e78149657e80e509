/**
 * Shapes for plugging the chat into a host app: the user a host identity resolves to, and the
 * inputs of the trusted service API (`service.*`), which names users by our id or the host's.
 */
import { z } from 'zod';
import { clientMessageIdSchema, contentSchema, groupNameSchema, idSchema } from './schemas.js';
import { textSchema } from './text.js';
import { notificationContentSchema, PUSHABLE_NOTIFICATION_TYPES } from './notifications.js';

// Every string goes through the one storable-text rule (text.ts), as every other input does.
const externalIdSchema = textSchema({ min: 1, max: 255, trim: false });
const displayNameSchema = textSchema({ min: 1, max: 100 });

const httpUrl = textSchema({ max: 2048, trim: false }).refine((value) => /^https?:\/\//.test(value) || value.startsWith('/'), 'must be a path or an http(s) URL');

/** What a host identity resolver returns for a signed-in host user. */
export const externalUserSchema = z.object({
  /** The host's own, stable id for the user (any string: a number, a UUID, an email hash…). */
  externalId: externalIdSchema,
  /** Shown to other users; follows the host (updated whenever it changes). */
  name: displayNameSchema,
  avatarUrl: httpUrl.nullish(),
});
export type ExternalUser = z.infer<typeof externalUserSchema>;

/**
 * A user named by the service API: our id, or the host's id (with a name, the user is created
 * on first sight, as when they sign in).
 */
export const userRefSchema = z.union([
  z.object({ userId: idSchema }),
  z.object({ externalId: externalIdSchema, name: displayNameSchema.optional(), avatarUrl: httpUrl.nullish() }),
]);
export type UserRef = z.infer<typeof userRefSchema>;

export const serviceUserInput = externalUserSchema;

export const serviceNotifyInput = z.object({
  user: userRefSchema,
  type: z.enum(PUSHABLE_NOTIFICATION_TYPES),
  content: notificationContentSchema,
});

export const serviceCreateGroupInput = z.object({
  name: groupNameSchema,
  owner: userRefSchema,
  members: z.array(userRefSchema).max(500).default([]),
});

export const serviceMemberInput = z.object({ groupId: idSchema, user: userRefSchema });

export const serviceSystemMessageInput = z
  .object({
    conversationId: idSchema.optional(),
    groupId: idSchema.optional(),
    content: contentSchema,
    /** Makes a retry safe: the same id posts the message once. */
    clientMessageId: clientMessageIdSchema.optional(),
  })
  .refine((input) => (input.conversationId === undefined) !== (input.groupId === undefined), 'give conversationId or groupId');

export const serviceDeleteUserInput = z.object({ user: userRefSchema });

/** What an erased message's content becomes (the row and its seq stay: see `service.deleteUser`). */
export const DELETED_MESSAGE_CONTENT = '';
/** The name a deleted account shows in the conversations it was part of. */
export const DELETED_USER_NAME = 'Deleted user';
/** The name system messages (`service.postSystemMessage`) are shown from. */
export const SYSTEM_USER_NAME = 'System';
