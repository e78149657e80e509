/**
 * The host app's own world, which the chat knows nothing about: its users table, its password
 * check, its cookie sessions and its posts. (In memory here; a real app has a database.)
 */
import { randomBytes } from 'node:crypto';

export type HostUser = { id: number; name: string; password: string; avatarUrl: string };

export const users: HostUser[] = [
  { id: 101, name: 'Ana', password: 'ana-secret', avatarUrl: 'https://host.example/avatars/ana.png' },
  { id: 102, name: 'Bo', password: 'bo-secret', avatarUrl: 'https://host.example/avatars/bo.png' },
  { id: 103, name: 'Cy', password: 'cy-secret', avatarUrl: 'https://host.example/avatars/cy.png' },
];

/** sessionId → userId: the host's session store. */
const sessions = new Map<string, number>();

export const SESSION_COOKIE = 'host_sid';

export function signIn(name: string, password: string): string | null {
  const user = users.find((candidate) => candidate.name === name && candidate.password === password);
  if (!user) return null;
  const sessionId = randomBytes(24).toString('base64url');
  sessions.set(sessionId, user.id);
  return sessionId;
}

export function userOfSession(sessionId: string | undefined): HostUser | null {
  const userId = sessionId ? sessions.get(sessionId) : undefined;
  return users.find((user) => user.id === userId) ?? null;
}
