/**
 * Data transfer objects: the only shapes the API returns. Entities never leave the server,
 * so no column (password hash, session id) can leak by accident. Dates are ISO strings.
 */
export type UserDTO = {
  id: number;
  /** The name to show: the username, or the host app's name for users of a host identity. */
  username: string;
  /** Only for users of a host identity that has one. */
  avatarUrl?: string;
};

export type MessageDTO = {
  /** Global id (unique across conversations); what `message.read` takes. */
  id: number;
  conversationId: number;
  /** Per-conversation sequence: 1, 2, 3… with no gaps; the history cursor and the stream's event id. */
  seq: number;
  senderId: number;
  content: string;
  clientMessageId: string;
  createdAt: string;
};

export const CONVERSATION_KINDS = ['direct', 'group'] as const;
export type ConversationKind = (typeof CONVERSATION_KINDS)[number];

export type MemberDTO = UserDTO & {
  /** Highest sequence this member has read. */
  lastReadSeq: number;
};

export type ConversationDTO = {
  id: number;
  kind: ConversationKind;
  /** The group that owns this conversation, or null for a direct conversation. */
  groupId: number | null;
  /** The group name, or the other user's name for a direct conversation. */
  title: string;
  members: MemberDTO[];
  lastMessage: MessageDTO | null;
  /** Messages after the caller's read pointer that others sent. */
  unreadCount: number;
  lastReadSeq: number;
};

export type HistoryPageDTO = {
  /** Newest first. */
  messages: MessageDTO[];
  /** Pass as `cursor` to get the next (older) page; null when there is none. */
  nextCursor: number | null;
};
