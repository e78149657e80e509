/** Demo data for a fresh development database: a few users, a direct chat and a group. */
import type { AppDeps } from './context.js';
import { User } from './db/entities.js';

export type DemoCredentials = { username: string; password: string };

/** Fixed on purpose: printed at start and written in the README. */
export const DEMO_USERS: readonly DemoCredentials[] = [
  { username: 'alice', password: 'alice-demo-1' },
  { username: 'bob', password: 'bob-demo-12' },
  { username: 'carol', password: 'carol-demo-1' },
];

/**
 * Creates the demo users, a direct conversation between the first two with a few messages, and
 * a group of all three, through the same services the API uses. Does nothing (returns null) when
 * the database already has users, so restarting never duplicates or resets anything.
 */
export async function seedDemo(deps: AppDeps): Promise<DemoCredentials[] | null> {
  if ((await deps.orm.em.fork().count(User, {})) > 0) return null;
  const { auth, conversations, messages, groups } = deps.services;

  const users = [];
  for (const credentials of DEMO_USERS) users.push((await auth.register(credentials)).user);
  const [alice, bob, carol] = users;
  if (!alice || !bob || !carol) throw new Error('demo users were not created');

  const direct = await conversations.openDirect(alice.id, bob.id);
  const lines: Array<[number, string]> = [
    [alice.id, 'Hi Bob! Welcome to the realtime chat.'],
    [bob.id, 'Hey Alice 👋 Typing indicators work too, try it.'],
    [alice.id, 'And read receipts: watch for "Seen" under your message.'],
  ];
  let index = 0;
  for (const [senderId, content] of lines) {
    await messages.send(senderId, { conversationId: direct.id, content, clientMessageId: `seed-direct-${index++}` });
  }

  const group = await groups.createWithMembers(alice.id, 'Demo group', [bob.id, carol.id]);
  await messages.send(carol.id, { conversationId: group.id, content: 'Hello everyone in the demo group!', clientMessageId: 'seed-group-0' });

  return [...DEMO_USERS];
}
