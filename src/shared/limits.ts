/** Input bounds shared by the server's validation and the client's forms. */
export const LIMITS = {
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 200,
  /** Message length in code points (as the database counts stored text). */
  contentMax: 4000,
  groupNameMax: 100,
  /** Invitations from one user that may wait for the same invitee's answer. */
  pendingInvitationsPerInvitee: 3,
  clientMessageIdMax: 64,
  historyPageDefault: 50,
  historyPageMax: 100,
  /** Calls in one HTTP batch (`httpBatchLink`'s `maxItems` must not exceed it); more is a 400. */
  httpBatchMax: 16,
  /** Rows (history messages, notifications) one HTTP request may return across its whole batch. */
  httpRowsPerRequest: 500,
  /** Largest WebSocket frame the server accepts; a larger one closes that socket. */
  wsMaxPayloadBytes: 64 * 1024,
} as const;

/** Realtime timings, in milliseconds. The server enforces them; clients pace themselves by them. */
export const TIMINGS = {
  keepAlivePingMs: 30_000,
  keepAlivePongWaitMs: 5_000,
  typingTtlMs: 6_000,
  typingRenewMinMs: 1_000,
  presenceGraceMs: 5_000,
} as const;
