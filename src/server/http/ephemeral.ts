import { isTrackedEnvelope } from '@trpc/server';

/**
 * Which subscription values a client that is behind can lose without harm (the WebSocket
 * adapter drops them first when too many bytes are owed to a socket, see `isEphemeral` in
 * ws-adapter.ts): presence changes, and conversation batches made of typing events only (a
 * typing state expires on the client by itself). Messages, reads and membership changes are
 * never shed: a socket that cannot take them is closed instead, and its client resumes.
 */
export function isEphemeralValue(path: string, value: unknown): boolean {
  if (path === 'presence.watch') return true;
  if (path !== 'conversation.events' || !isTrackedEnvelope(value)) return false;
  const events = value[1];
  return Array.isArray(events) && events.length > 0 && events.every((event: { type?: unknown }) => event?.type === 'typing');
}
