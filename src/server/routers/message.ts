import { groupSendInput, sendInput } from '../../shared/schemas.js';
import { authedProcedure, router } from '../trpc.js';

export const messageRouter = router({
  /** Idempotent by (sender, clientMessageId): a retry returns the stored message and publishes nothing. */
  send: authedProcedure.input(sendInput).mutation(async ({ ctx, input }) => {
    await ctx.services.rateLimits.consume('send', ctx.user.id);
    return ctx.services.messages.send(ctx.user.id, input);
  }),

  /** `send` addressed by group id: posts to the group's conversation. */
  group: authedProcedure.input(groupSendInput).mutation(async ({ ctx, input }) => {
    await ctx.services.rateLimits.consume('send', ctx.user.id);
    return ctx.services.messages.sendToGroup(ctx.user.id, input);
  }),
});
