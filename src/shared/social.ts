/** Shapes of the social features: typing, read receipts, presence, groups, notifications. */
import type { UserDTO } from './dto.js';

export type PresenceStatus = 'online' | 'offline';

export type PresenceDTO = {
  userId: number;
  status: PresenceStatus;
  /** When the user was last connected (ISO), null if never. */
  lastSeenAt: string | null;
};

export type ReadResultDTO = {
  conversationId: number;
  lastReadSeq: number;
  unreadCount: number;
};

export const GROUP_ROLES = ['owner', 'member'] as const;
export type GroupRole = (typeof GROUP_ROLES)[number];

export type GroupMemberDTO = UserDTO & { role: GroupRole; joinedAt: string };

export type GroupDTO = {
  id: number;
  name: string;
  ownerId: number;
  conversationId: number;
  memberCount: number;
};

export const INVITATION_STATUSES = ['pending', 'accepted', 'declined', 'cancelled'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

export type InvitationDTO = {
  id: number;
  groupId: number;
  groupName: string;
  inviter: UserDTO;
  invitee: UserDTO;
  status: InvitationStatus;
  createdAt: string;
};

export type GroupListDTO = {
  groups: GroupDTO[];
  /** Invitations the caller received and has not answered yet. */
  invitations: InvitationDTO[];
};
