import { v7 as uuidv7 } from 'uuid';

/**
 * A new clientMessageId, as the web client sends it: a UUIDv7, which starts with the time. The
 * server keeps a unique index on (clientMessageId, sender) for idempotent retries; time-ordered
 * ids land at the end of that index instead of on a random page of it, which makes each stored
 * message cheaper (BENCHMARKS.md). The server accepts any unique string up to 64 characters.
 * Needs only crypto.getRandomValues, so it works outside secure contexts too.
 */
export function newClientMessageId(): string {
  return uuidv7();
}
