/** Input bounds shared by the server's validation and the client's forms. */
export const LIMITS = {
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 200,
  contentMax: 4000,
  clientMessageIdMax: 64,
  historyPageDefault: 50,
  historyPageMax: 100,
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
