import type { MessageDTO, UserDTO } from '../../shared/dto.js';
import type { MessageEntity, UserEntity } from '../db/entities.js';
import { dateOf } from '../db/prepared.js';

type UserRow = Pick<UserEntity, 'id' | 'username'> & Partial<Pick<UserEntity, 'displayName' | 'avatarUrl'>>;

export const toUserDTO = (user: UserRow): UserDTO =>
  user.avatarUrl
    ? { id: user.id, username: user.displayName ?? user.username, avatarUrl: user.avatarUrl }
    : { id: user.id, username: user.displayName ?? user.username };

export const toMessageDTO = (message: MessageEntity): MessageDTO => ({
  id: message.id,
  conversationId: message.conversation,
  seq: message.seq,
  senderId: message.sender,
  content: message.content,
  clientMessageId: message.clientMessageId,
  createdAt: message.createdAt.toISOString(),
});

/** A message's columns under the names `messageRowToDTO` reads, for prepared reads (db/prepared.ts) on `messages m`. */
export const MESSAGE_ROW_COLUMNS = `m.id AS "id", m.conversation_id AS "conversationId", m.seq AS "seq", m.sender_id AS "senderId",
  m.content AS "content", m.client_message_id AS "clientMessageId", m.created_at AS "createdAt"`;

export type MessageRow = Omit<MessageDTO, 'createdAt'> & { createdAt: unknown };

export const messageRowToDTO = (row: MessageRow): MessageDTO => ({
  id: Number(row.id),
  conversationId: Number(row.conversationId),
  seq: Number(row.seq),
  senderId: Number(row.senderId),
  content: row.content,
  clientMessageId: row.clientMessageId,
  createdAt: dateOf(row.createdAt).toISOString(),
});
