/** What the web client needs from notifications: answered invitations settle, message notes say who and where. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, uid, type TestApp } from './helpers.js';

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(async () => {
  await app.close();
});

async function eventually(check: () => Promise<boolean>) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition never held');
}

describe('notifications for the web client', () => {
  it('an invitation answered (accepted or declined) leaves no unread invitation notification', async () => {
    const [alice, bob, carol] = [await app.user('alice'), await app.user('bob'), await app.user('carol')];
    const { group, invitations } = await alice.caller.group.create({ name: 'Hikers', memberIds: [bob.id, carol.id] });
    expect((await bob.caller.notification.list({})).unreadCount).toBe(1);
    const toBob = invitations.find((invitation) => invitation.invitee.id === bob.id)!;
    const toCarol = invitations.find((invitation) => invitation.invitee.id === carol.id)!;
    await bob.caller.group.respond({ invitationId: toBob.id, accept: true });
    await carol.caller.group.respond({ invitationId: toCarol.id, accept: false });
    for (const user of [bob, carol]) {
      const page = await user.caller.notification.list({});
      expect(page.unreadCount).toBe(0);
      expect(page.notifications).toEqual([expect.objectContaining({ type: 'group.invitation', groupId: group.id, readAt: expect.any(String) })]);
    }
  });

  it('an offline-message notification names the sender, and the group for a group chat', async () => {
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    await alice.caller.message.send({ conversationId, content: 'are you there?', clientMessageId: uid() });
    const group = await app.services.groups.createWithMembers(alice.id, 'Weekend', [bob.id]);
    await alice.caller.message.group({ groupId: group.groupId!, content: 'plans?', clientMessageId: uid() });
    await eventually(async () => (await bob.caller.notification.list({})).notifications.length === 2);
    const titles = (await bob.caller.notification.list({})).notifications.map((note) => [note.content.title, note.content.url]);
    expect(titles).toEqual(
      expect.arrayContaining([
        ['alice sent you a message', `/c/${conversationId}`],
        ['alice in Weekend', `/c/${group.id}`],
      ]),
    );
  });
});
