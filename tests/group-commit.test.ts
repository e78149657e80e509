import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MessageDTO } from '../src/shared/dto.js';
import { topics } from '../src/server/bus/topics.js';
import { createMessageWriter } from '../src/server/services/message-writer.js';
import { createTestApp, uid, type TestApp } from './helpers.js';

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(async () => {
  await app.close();
});

async function groupOf(size: number) {
  const users = [];
  for (let i = 0; i < size; i++) users.push(await app.user());
  const group = await app.services.groups.createWithMembers(users[0]!.id, 'team', users.slice(1).map((u) => u.id));
  return { users, conversationId: group.id };
}

/** Every message published on a conversation topic, in publish order. */
function recordPublished(conversationId: number) {
  const published: MessageDTO[] = [];
  const ac = new AbortController();
  const subscription = app.bus.subscribe(topics.conversation(conversationId), { signal: ac.signal });
  void (async () => {
    for await (const batch of subscription) for (const event of batch) if (event.type === 'message') published.push(event.message);
  })();
  return { published, stop: () => ac.abort() };
}

describe('group commit', () => {
  it('gives concurrent sends to one conversation distinct, gap-free sequences in commit order', async () => {
    const { users, conversationId } = await groupOf(4);
    const recorder = recordPublished(conversationId);
    const sends = Array.from({ length: 300 }, (_, i) =>
      users[i % users.length]!.caller.message.send({ conversationId, content: `m${i}`, clientMessageId: `c${i}` }),
    );
    const messages = await Promise.all(sends);
    const seqs = messages.map((m) => m.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(new Set(messages.map((m) => m.id)).size).toBe(300);
    // Sequence order is id (insert) order: commit order.
    const byId = [...messages].sort((a, b) => a.id - b.id);
    expect(byId.map((m) => m.seq)).toEqual(seqs);
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorder.published.map((m) => m.seq)).toEqual(seqs);
    recorder.stop();
    // Several batches were needed (maxBatch) and the counter kept running across them.
    const next = await users[0]!.caller.message.send({ conversationId, content: 'after', clientMessageId: uid() });
    expect(next.seq).toBe(301);
  });

  it('fails only the bad message of a batch', async () => {
    const { users, conversationId } = await groupOf(2);
    const writer = app.services.messages.writer;
    const senderId = users[0]!.id;
    const results = await Promise.allSettled([
      writer.send({ conversationId, senderId, content: 'one', clientMessageId: 'good-1' }),
      writer.send({ conversationId: 987_654, senderId, content: 'nowhere', clientMessageId: 'bad-1' }),
      writer.send({ conversationId, senderId, content: 'two', clientMessageId: 'good-2' }),
    ]);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { created: true, message: { seq: 1, content: 'one' } } });
    expect(results[1]).toMatchObject({ status: 'rejected' });
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/i);
    expect(results[2]).toMatchObject({ status: 'fulfilled', value: { created: true, message: { seq: 2, content: 'two' } } });
    // The counter was not corrupted by the rolled-back attempt.
    const after = await writer.send({ conversationId, senderId, content: 'three', clientMessageId: 'good-3' });
    expect(after.message.seq).toBe(3);
  });

  it('answers idempotent retries inside one batch and across batches with the original message', async () => {
    const { users, conversationId } = await groupOf(2);
    const writer = app.services.messages.writer;
    const senderId = users[0]!.id;
    const request = { conversationId, senderId, content: 'hello', clientMessageId: 'retry-me' };
    const recorder = recordPublished(conversationId);
    const [first, second, third] = await Promise.all([writer.send(request), writer.send(request), writer.send(request)]);
    expect(first.created).toBe(true);
    expect(second).toEqual({ message: first.message, created: false });
    expect(third).toEqual({ message: first.message, created: false });
    const later = await writer.send(request);
    expect(later).toEqual({ message: first.message, created: false });
    // Through the API as well, in a batch shared with other senders' messages.
    const [viaApi] = await Promise.all([
      users[0]!.caller.message.send({ conversationId, content: 'hello', clientMessageId: 'retry-me' }),
      users[1]!.caller.message.send({ conversationId, content: 'other', clientMessageId: 'retry-me' }),
    ]);
    expect(viaApi).toEqual(first.message);
    // Reusing the id for different content is a conflict, not a silent duplicate.
    await expect(writer.send({ ...request, content: 'changed' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorder.published.map((m) => m.clientMessageId)).toEqual(['retry-me', 'retry-me']);
    expect(recorder.published.map((m) => m.senderId)).toEqual([users[0]!.id, users[1]!.id]);
    recorder.stop();
  });

  it('answers callers and writes the next batch without waiting for publication, and publishes batches in commit order', async () => {
    const { users, conversationId } = await groupOf(2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const publishedBatches: number[][] = [];
    const writer = createMessageWriter(app.deps, {
      async onCommitted(messages) {
        // The first publication hangs (a slow bus) until the test lets it go.
        if (publishedBatches.length === 0) await gate;
        publishedBatches.push(messages.map((message) => message.seq));
      },
    });
    const first = await writer.send({ conversationId, senderId: users[0]!.id, content: 'one', clientMessageId: uid() });
    const second = await Promise.all([
      writer.send({ conversationId, senderId: users[1]!.id, content: 'two', clientMessageId: uid() }),
      writer.send({ conversationId, senderId: users[0]!.id, content: 'three', clientMessageId: uid() }),
    ]);
    expect([first.message.seq, ...second.map((result) => result.message.seq)]).toEqual([1, 2, 3]);
    expect(publishedBatches).toEqual([]);
    release();
    await writer.idle();
    expect(publishedBatches).toEqual([[1], [2, 3]]);
  });
});

