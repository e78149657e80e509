import type { MessageDTO, UserDTO } from '../../shared/dto.js';
import type { MessageEntity, UserEntity } from '../db/entities.js';

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
