import { TRPCError } from '@trpc/server';
import { conversationTargetInput } from '../../shared/schemas.js';
import type { Context } from '../context.js';
import { authedProcedure, router } from '../trpc.js';

type Target = { conversationId: number } | { groupId: number };

/**
 * Resolves `{ conversationId }` or `{ groupId }` to a conversation the caller belongs to. Ids
 * the caller may not see get one answer whether they exist or not: FORBIDDEN for a
 * conversation id (as everywhere for conversations), NOT_FOUND for a group id (as group.*).
 */
async function memberConversation(ctx: Context & { user: { id: number } }, target: Target): Promise<number> {
  if ('conversationId' in target) {
    await ctx.services.membership.assertMember(target.conversationId, ctx.user.id);
    return target.conversationId;
  }
  const conversationId = await ctx.services.messages.conversationOfGroup(target.groupId);
  if (!(await ctx.services.membership.isMember(conversationId, ctx.user.id))) throw new TRPCError({ code: 'NOT_FOUND', message: 'Group not found' });
  return conversationId;
}

export const typingRouter = router({
  /** Typing for 6 s; renew while typing (renewals under 1 s apart succeed but publish nothing). */
  start: authedProcedure.input(conversationTargetInput).mutation(async ({ ctx, input }) => {
    await ctx.services.rateLimits.consume('signal', ctx.user.id);
    await ctx.services.typing.start(await memberConversation(ctx, input), ctx.user.id);
    return { ok: true as const };
  }),

  stop: authedProcedure.input(conversationTargetInput).mutation(async ({ ctx, input }) => {
    await ctx.services.rateLimits.consume('signal', ctx.user.id);
    await ctx.services.typing.stop(await memberConversation(ctx, input), ctx.user.id);
    return { ok: true as const };
  }),
});
