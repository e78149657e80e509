/**
 * Input schemas for every procedure. The server validates with them and the client can reuse
 * them in forms, so both sides agree on every bound.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';
import { textSchema } from './text.js';

export const idSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** A stream cursor as `tracked()` ids travel: a decimal string of a non-negative integer. */
export const eventIdSchema = z
  .string()
  .regex(/^\d{1,15}$/, 'lastEventId must be a decimal sequence number');

export const credentialsInput = z.object({
  username: textSchema({ min: LIMITS.usernameMin, max: LIMITS.usernameMax })
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, dot, dash and underscore only'),
  password: textSchema({ min: LIMITS.passwordMin, max: LIMITS.passwordMax, trim: false }),
});

/** Message text: 1..contentMax code points after trimming, storable as sent (see text.ts). */
export const contentSchema = textSchema({ min: 1, max: LIMITS.contentMax });

/** Chosen by the client (a UUID suits); the same id from the same sender is the same message. */
export const clientMessageIdSchema = z
  .string()
  .min(1)
  .max(LIMITS.clientMessageIdMax)
  .regex(/^[A-Za-z0-9_:-]+$/, 'letters, digits, dash, underscore and colon only');

export const openDirectInput = z.object({ userId: idSchema });

export const historyInput = z.object({
  conversationId: idSchema,
  /** Return messages with a sequence strictly below this one (the previous page's `nextCursor`). */
  cursor: z.number().int().nonnegative().nullish(),
  limit: z.number().int().min(1).max(LIMITS.historyPageMax).default(LIMITS.historyPageDefault),
});

export const sendInput = z.object({
  conversationId: idSchema,
  content: contentSchema,
  clientMessageId: clientMessageIdSchema,
});

export const groupSendInput = z.object({
  groupId: idSchema,
  content: contentSchema,
  clientMessageId: clientMessageIdSchema,
});

export const conversationEventsInput = z.object({
  conversationId: idSchema,
  lastEventId: eventIdSchema.nullish(),
});

export const inboxEventsInput = z
  .object({ lastEventId: eventIdSchema.nullish() })
  .default({});

export type CredentialsInput = z.infer<typeof credentialsInput>;
export type SendInput = z.infer<typeof sendInput>;

/** For procedures that take nothing: `undefined` only, so stray input is a BAD_REQUEST. */
export const noInput = z.void();

/** `{ conversationId }` or `{ groupId }`, as the seed's typing events take. */
export const conversationTargetInput = z.union([
  z.object({ conversationId: idSchema }).strict(),
  z.object({ groupId: idSchema }).strict(),
]);

export const readInput = z.object({ messageId: idSchema });

export const presenceWatchInput = z
  .object({ userIds: z.array(idSchema).min(1).max(500).optional() })
  .default({});

export const groupNameSchema = textSchema({ min: 1, max: LIMITS.groupNameMax });
export const groupCreateInput = z.object({ name: groupNameSchema, memberIds: z.array(idSchema).max(100).optional() });
export const groupInviteInput = z.object({ groupId: idSchema, userId: idSchema });
export const groupRespondInput = z.object({ invitationId: idSchema, accept: z.boolean() });
export const groupIdInput = z.object({ groupId: idSchema });
export const groupMemberInput = z.object({ groupId: idSchema, userId: idSchema });

export const notificationListInput = z
  .object({
    cursor: idSchema.nullish(),
    limit: z.number().int().min(1).max(100).default(20),
    unreadOnly: z.boolean().default(false),
  })
  .default({ limit: 20, unreadOnly: false });

export const notificationMarkReadInput = z.union([
  z.object({ ids: z.array(idSchema).min(1).max(500) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);

export const notificationStreamInput = z.object({ lastEventId: eventIdSchema.nullish() }).default({});

/** `user.block` and `user.unblock`. */
export const userTargetInput = z.object({ userId: idSchema });

/** Users, found by name, to start a chat or invite. */
export const userSearchInput = z.object({ query: textSchema({ min: 1, max: LIMITS.usernameMax }) });
