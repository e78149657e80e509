import { conversationTargetInput } from '../../shared/schemas.js';
import type { Context } from '../context.js';
import { authedProcedure, router } from '../trpc.js';

type Target = { conversationId: number } | { groupId: number };

/** Resolves `{ conversationId }` or `{ groupId }` to a conversation the caller belongs to. */
async function memberConversation(ctx: Context & { user: { id: number } }, target: Target): Promise<number> {
  const conversationId =
    'conversationId' in target ? target.conversationId : await ctx.services.messages.conversationOfGroup(target.groupId);
  await ctx.services.membership.assertMember(conversationId, ctx.user.id);
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
