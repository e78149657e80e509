import { conversationEventsInput, historyInput, noInput, openDirectInput } from '../../shared/schemas.js';
import { openConversationStream } from '../streams/conversation.js';
import { authedProcedure, router, subscriptionProcedure } from '../trpc.js';

export const conversationRouter = router({
  /** The direct conversation with another user, created on first call. */
  openDirect: authedProcedure
    .input(openDirectInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.openDirect(ctx.user.id, input.userId)),

  /** The caller's conversations, most recently active first, each with its last message and unread count. */
  list: authedProcedure.input(noInput).query(({ ctx }) => ctx.services.conversations.list(ctx.user.id)),

  /** Messages newest first; pass `nextCursor` back as `cursor` for older pages. */
  history: authedProcedure.input(historyInput).query(({ ctx, input }) => {
    ctx.transport.budget?.spend(input.limit);
    return ctx.services.conversations.history(ctx.user.id, input);
  }),

  /**
   * Live events of one conversation, in batches tracked by message seq. With `lastEventId`
   * (sent automatically by wsLink on reconnect) it first replays every message after it.
   */
  events: subscriptionProcedure.input(conversationEventsInput).subscription(async ({ ctx, input, signal }) => {
    await ctx.services.membership.assertMember(input.conversationId, ctx.user.id);
    return openConversationStream(ctx, {
      userId: ctx.user.id,
      conversationId: input.conversationId,
      lastEventId: input.lastEventId,
      signal,
    });
  }),
});
