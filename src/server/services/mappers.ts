import type { MessageDTO, UserDTO } from '../../shared/dto.js';
import type { MessageEntity, UserEntity } from '../db/entities.js';

export const toUserDTO = (user: Pick<UserEntity, 'id' | 'username'>): UserDTO => ({
  id: user.id,
  username: user.username,
});

export const toMessageDTO = (message: MessageEntity): MessageDTO => ({
  id: message.id,
  conversationId: message.conversation,
  seq: message.seq,
  senderId: message.sender,
  content: message.content,
  clientMessageId: message.clientMessageId,
  createdAt: message.createdAt.toISOString(),
});
