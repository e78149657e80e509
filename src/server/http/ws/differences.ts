/**
 * Where our adapter answers differently from `applyWSSHandler` (`@trpc/server/adapters/ws`), and
 * why: the one list of known differences. tests/ws-differential.test.ts sends the same raw frames
 * to both and requires identical answers for everything else, and checks that each case named
 * here does differ (so the list cannot go stale).
 *
 * Not compared, because tRPC's adapter has no equivalent: the per-socket limits (subscriptions,
 * requests per second, per frame and in flight, bytes owed: `DEFAULT_REQUEST_LIMITS` and
 * `DEFAULT_OUTPUT_LIMITS` in ws-adapter.ts) and keepalive (one sweep for all sockets instead of
 * two timers per socket; the PING and PONG frames are the same). Errors' `data.stack` (present
 * outside production) names different call sites and is removed before comparing.
 */
export const KNOWN_DIFFERENCES = {
  binaryFrame: {
    ours: 'PARSE_ERROR on id null, "Binary frames are not accepted: send JSON text"',
    trpc: 'PARSE_ERROR on id null, with the JSON encoder\'s own message about binary data',
    why: 'Same code and id; our message tells the client what to send instead.',
  },
  stopWhileProcedureRuns: {
    ours: '`stopped` at once; the stream is never started and the id is free again',
    trpc: 'nothing at the stop; the subscription is registered only once its procedure returns, then answers `started` and runs until the socket closes',
    why: 'tRPC loses a stop that arrives while the procedure runs (a subscription the client no longer knows of, held until the socket closes). Ours registers it before the procedure runs.',
  },
  duplicateIdOrder: {
    ours: 'the duplicate is refused (BAD_REQUEST "Duplicate id …") before its procedure runs, so this error can come before the first subscription\'s `started`',
    trpc: 'the duplicate\'s procedure runs first, then it is refused with the same error, after the first one\'s `started`',
    why: 'Same answers, in another order: refusing first spares running a procedure (and opening its bus subscription) for nothing.',
  },
} as const;

export type KnownDifference = keyof typeof KNOWN_DIFFERENCES;
