import { afterEach, describe, expect, it } from 'vitest';
import { createContextInner } from '../src/server/context.js';
import { createCaller } from '../src/server/routers/index.js';
import { LIMITS } from '../src/shared/limits.js';
import { createTestApp, uid, type TestApp } from './helpers.js';

let app: TestApp;
afterEach(async () => {
  await app.close();
});

describe('one session rule', () => {
  it('a subscription procedure refuses an HTTP transport with METHOD_NOT_SUPPORTED (backstop behind the HTTP guard)', async () => {
    app = await createTestApp();
    const alice = await app.user('alice');
    const overHttp = createCaller(
      createContextInner(app.deps, { user: { id: alice.id, username: alice.username }, sessionId: 'x' }, { kind: 'http' }),
    );
    await expect(overHttp.inbox.events({})).rejects.toMatchObject({ code: 'METHOD_NOT_SUPPORTED' });
    await expect(overHttp.notification.stream({})).rejects.toMatchObject({ code: 'METHOD_NOT_SUPPORTED' });
  });
});

describe('strings are stored exactly as sent', () => {
  it('lengths count code points, as the database does: 4000 emoji fit, 4001 do not', async () => {
    app = await createTestApp();
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    const content = '😀'.repeat(LIMITS.contentMax);
    const sent = await alice.caller.message.send({ conversationId, content, clientMessageId: uid() });
    const [stored] = await app.orm.em.fork().execute<Array<{ n: number; content: string }>>('select length(content) as n, content from messages where id = ?', [sent.id]);
    expect(Number(stored!.n)).toBe(LIMITS.contentMax);
    expect(stored!.content).toBe(content);
    await expect(alice.caller.message.send({ conversationId, content: `${content}😀`, clientMessageId: uid() })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('NUL and unpaired surrogates are refused in every string input and store nothing', async () => {
    app = await createTestApp();
    const [alice, bob] = [await app.user('alice'), await app.user('bob')];
    const { id: conversationId } = await alice.caller.conversation.openDirect({ userId: bob.id });
    for (const bad of ['a\u0000', 'x\ud800y', 'y\udfff']) {
      await expect(alice.caller.message.send({ conversationId, content: bad, clientMessageId: uid() })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(alice.caller.group.create({ name: bad })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(alice.caller.user.search({ query: bad })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(app.anonymous.auth.register({ username: `ab${bad}`, password: 'long enough password' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(app.anonymous.auth.login({ username: 'alice', password: `long enough${bad}` })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(app.service.notification.push({ type: 'system', userId: bob.id, content: { title: bad } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(app.service.notification.push({ type: 'system', userId: bob.id, content: { title: 'ok', body: bad } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(app.service.notification.push({ type: 'system', userId: bob.id, content: { title: 'ok', data: { key: bad } } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect(await app.count('messages')).toBe(0);
    expect(await app.count('groups')).toBe(0);
    expect(await app.count('notifications')).toBe(0);
  });
});
