import { groupSendInput, readInput, sendInput } from '../../shared/schemas.js';
import { authedProcedure, router } from '../trpc.js';

export const messageRouter = router({
  /** Idempotent by (sender, clientMessageId): a retry returns the stored message and publishes nothing. */
  send: authedProcedure.input(sendInput).mutation(async ({ ctx, input }) => {
    const stopTimer = ctx.metrics.sendLatency.startTimer();
    await ctx.services.rateLimits.consume('send', ctx.user.id);
    return ctx.services.messages.send(ctx.user.id, input).finally(stopTimer);
  }),

  /** `send` addressed by group id: posts to the group's conversation. */
  group: authedProcedure.input(groupSendInput).mutation(async ({ ctx, input }) => {
    const stopTimer = ctx.metrics.sendLatency.startTimer();
    await ctx.services.rateLimits.consume('send', ctx.user.id);
    return ctx.services.messages.sendToGroup(ctx.user.id, input).finally(stopTimer);
  }),

  /** Moves the caller's read pointer forward to this message (and everything before it). */
  read: authedProcedure.input(readInput).mutation(async ({ ctx, input }) => {
    await ctx.services.rateLimits.consume('signal', ctx.user.id);
    return ctx.services.reads.markRead(ctx.user.id, input.messageId);
  }),
});
