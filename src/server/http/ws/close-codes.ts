/**
 * Close codes this adapter sends (documented in the README, per-connection limits). 4001 (the
 * session ended) is sent by the HTTP server, not here.
 */
export const WS_CLOSE = {
  /** More requests than the per-socket rate allows (RFC 6455: policy violation). */
  tooManyRequests: 1008,
  /** The client did not read: more output was owed to it than `maxBufferedBytes`. */
  notReading: 4002,
} as const;
