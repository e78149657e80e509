/**
 * Persistence model. Foreign keys are mapped to their primary key (`mapToPk`) so services work
 * with plain ids and never load object graphs by accident; the schema still gets real FK
 * constraints. Groups own a conversation of kind `group`; memberships belong to conversations,
 * so a direct chat and a group are read, sent to and streamed the same way.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CONVERSATION_KINDS } from '../../shared/dto.js';
import type { NotificationContent } from '../../shared/notifications.js';
import { GROUP_ROLES, INVITATION_STATUSES } from '../../shared/social.js';

/** The stored "password hash" of accounts without a password: malformed, so verifying against it always fails. */
export const NO_PASSWORD = '!';

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    username: p.string().length(64).unique(),
    /**
     * `NO_PASSWORD` for users who come from the host app's identity, the system user and deleted
     * accounts: no hash matches it. (Not nullable: on SQLite that change rebuilds the table.)
     */
    passwordHash: p.string().hidden(),
    createdAt: p.datetime(),
    lastSeenAt: p.datetime().nullable(),
    // Columns added by later migrations come last: SQLite appends added columns, and a database
    // migrated step by step must match one created from these entities column for column.
    /** The host app's id for this user (identity resolver, service API); null for password accounts. */
    externalId: p.string().length(255).nullable().unique(),
    /** The host's name for an external user (follows the host; `username` is then an internal handle). */
    displayName: p.string().length(100).nullable(),
    avatarUrl: p.string().length(2048).nullable(),
    /** Set when the account was deleted: the row stays as an anonymous tombstone (see service.deleteUser). */
    deletedAt: p.datetime().nullable(),
    /**
     * `username` lower-cased (usernames are ASCII): its unique index makes names differ by more
     * than case. Every new row has it. Nullable so a table that has rows can take it:
     * `backfillUsernameKeys` (db/username-keys.ts) fills them in at start-up.
     */
    usernameKey: p.string().length(64).nullable().unique(),
  },
});

export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    /** SHA-256 of the cookie's token: a leaked database does not leak usable sessions. */
    id: p.string().length(64).primary(),
    user: p.manyToOne(User).mapToPk().deleteRule('cascade'),
    createdAt: p.datetime(),
    expiresAt: p.datetime().index(),
  },
});

export const Conversation = defineEntity({
  name: 'Conversation',
  tableName: 'conversations',
  properties: {
    id: p.integer().primary().autoincrement(),
    kind: p.enum([...CONVERSATION_KINDS]),
    /** `smallerUserId:largerUserId` for direct conversations: one conversation per pair. */
    directKey: p.string().length(64).nullable().unique(),
    createdAt: p.datetime(),
  },
});

export const Group = defineEntity({
  name: 'Group',
  tableName: 'groups',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
    owner: p.manyToOne(User).mapToPk(),
    conversation: p.oneToOne(Conversation).mapToPk().owner().unique().deleteRule('cascade'),
    createdAt: p.datetime(),
  },
});

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['conversation', 'user'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    // No index of its own: the (conversation, user) unique index starts with it.
    conversation: p.manyToOne(Conversation).mapToPk().index(false).deleteRule('cascade'),
    user: p.manyToOne(User).mapToPk().index().deleteRule('cascade'),
    role: p.enum([...GROUP_ROLES]).default('member'),
    joinedAt: p.datetime(),
    /** Highest sequence this member has read; only moves forward. */
    lastReadSeq: p.integer().default(0),
  },
});

export const Message = defineEntity({
  name: 'Message',
  tableName: 'messages',
  uniques: [
    { properties: ['conversation', 'seq'] },
    // clientMessageId first: the idempotency lookup filters on it with IN (...).
    { properties: ['clientMessageId', 'sender'] },
  ],
  properties: {
    id: p.integer().primary().autoincrement(),
    // No index of its own: the (conversation, seq) unique index starts with it.
    conversation: p.manyToOne(Conversation).mapToPk().index(false).deleteRule('cascade'),
    seq: p.integer(),
    // Not indexed on purpose. Senders are spread over the table, so an index on them costs each
    // commit one more page per distinct sender (about a third of the insert at moderate rates,
    // BENCHMARKS.md), and nothing reads messages by sender. The price: deleting a user makes
    // SQLite scan messages for the cascade. Nothing here deletes users; add `.index()` (or delete
    // their messages in batches first) before something does.
    sender: p.manyToOne(User).mapToPk().index(false).deleteRule('cascade'),
    content: p.text(),
    clientMessageId: p.string().length(64),
    createdAt: p.datetime(),
  },
});

export const Invitation = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  indexes: [{ properties: ['group', 'invitee', 'status'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    // No index of its own: the (group, invitee, status) index starts with it.
    group: p.manyToOne(Group).mapToPk().index(false).deleteRule('cascade'),
    inviter: p.manyToOne(User).mapToPk().deleteRule('cascade'),
    invitee: p.manyToOne(User).mapToPk().index().deleteRule('cascade'),
    status: p.enum([...INVITATION_STATUSES]).default('pending'),
    createdAt: p.datetime(),
    respondedAt: p.datetime().nullable(),
  },
});

export const Notification = defineEntity({
  name: 'Notification',
  tableName: 'notifications',
  // (user, id): a stream's latest id and its replay after a cursor, in id order without reading
  // the user's other notifications (the (user, readAt) index is not in id order: BENCHMARKS.md,
  // "Eleventh round"). Notifications are written at most once per unread conversation, so its page
  // costs little.
  indexes: [{ properties: ['user', 'readAt'] }, { properties: ['user', 'type', 'conversationId', 'readAt'] }, { properties: ['user', 'id'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    // No index of its own: the (user, readAt) index starts with it.
    user: p.manyToOne(User).mapToPk().index(false).deleteRule('cascade'),
    type: p.string().length(64),
    content: p.json<NotificationContent>(),
    conversationId: p.integer().nullable(),
    groupId: p.integer().nullable(),
    createdAt: p.datetime(),
    readAt: p.datetime().nullable(),
  },
});

/**
 * `blocker` blocked `blocked`: the blocked user cannot open a direct chat with, message or
 * invite the blocker, nor see their presence or typing (services/blocks.ts).
 */
export const Block = defineEntity({
  name: 'Block',
  tableName: 'blocks',
  uniques: [{ properties: ['blocker', 'blocked'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    // No index of its own: the (blocker, blocked) unique index starts with it.
    blocker: p.manyToOne(User).mapToPk().index(false).deleteRule('cascade'),
    blocked: p.manyToOne(User).mapToPk().index().deleteRule('cascade'),
    createdAt: p.datetime(),
  },
});

export type UserEntity = InferEntity<typeof User>;
export type SessionEntity = InferEntity<typeof Session>;
export type ConversationEntity = InferEntity<typeof Conversation>;
export type GroupEntity = InferEntity<typeof Group>;
export type MembershipEntity = InferEntity<typeof Membership>;
export type MessageEntity = InferEntity<typeof Message>;
export type InvitationEntity = InferEntity<typeof Invitation>;
export type NotificationEntity = InferEntity<typeof Notification>;

export const entities = [User, Session, Conversation, Group, Membership, Message, Invitation, Notification, Block];
