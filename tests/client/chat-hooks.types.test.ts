/**
 * createChatHooks against a host's own tRPC app: a router with its own context, error formatter
 * and procedures, the chat mounted under `chat`. The types are checked by `tsc --noEmit`
 * (npm run typecheck); the test also checks the factory hands out every hook.
 */
import { createTRPCReact } from '@trpc/react-query';
import { initTRPC } from '@trpc/server';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createChatHooks } from '../../src/client/index.js';
import { chatRouter, type Context } from '../../src/server/index.js';
import type { MessageDTO } from '../../src/shared/dto.js';

const t = initTRPC.context<{ hostUserId: number | null; chat: Context }>().create({
  errorFormatter: ({ shape }) => ({ ...shape, data: { ...shape.data, hostTraceId: 'x' } }),
});
const hostRouter = t.router({ feed: t.procedure.input(z.object({ page: z.number() })).query(() => ['post']), chat: chatRouter });

describe('createChatHooks(trpc.chat) in a host app', () => {
  it('accepts the host client\'s chat subtree and keeps the chat\'s types', () => {
    const trpc = createTRPCReact<typeof hostRouter>();
    const hooks = createChatHooks(trpc.chat);
    expectTypeOf<ReturnType<typeof hooks.useConversation>['messages']>().toEqualTypeOf<MessageDTO[]>();
    expectTypeOf<ReturnType<typeof hooks.useConversation>['send']>().returns.resolves.toEqualTypeOf<MessageDTO>();
    expectTypeOf<ReturnType<typeof hooks.useNotifications>['unreadCount']>().toEqualTypeOf<number>();
    expectTypeOf(hooks.useConversation).parameter(0).toEqualTypeOf<number>();
    expect(Object.keys(hooks).sort()).toEqual(['useConversation', 'useConversations', 'useMe', 'useNotifications']);
  });
});
