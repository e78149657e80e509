import { inboxEventsInput } from '../../shared/schemas.js';
import { openInboxStream } from '../streams/inbox.js';
import { router, subscriptionProcedure } from '../trpc.js';

export const inboxRouter = router({
  /**
   * New messages in all of the caller's conversations, each with the caller's unread count
   * there, in batches tracked by global message id; replays after `lastEventId`.
   */
  events: subscriptionProcedure
    .input(inboxEventsInput)
    .subscription(({ ctx, input, signal }) => openInboxStream(ctx, { userId: ctx.user.id, lastEventId: input.lastEventId, signal })),
});
