import { notificationPushInput } from '../../shared/notifications.js';
import { notificationListInput, notificationMarkReadInput, notificationStreamInput } from '../../shared/schemas.js';
import { openNotificationStream } from '../streams/notifications.js';
import { authedProcedure, router, serviceProcedure, subscriptionProcedure } from '../trpc.js';

export const notificationRouter = router({
  /**
   * For trusted backend code only (likes, follows, comments…): a service caller in-process or
   * `Authorization: Bearer <SERVICE_TOKEN>` over HTTP. A user session gets FORBIDDEN.
   */
  push: serviceProcedure.input(notificationPushInput).mutation(({ ctx, input }) => ctx.services.notifications.push(input)),

  /** Live notifications and unread-count changes, tracked by notification id; replays after `lastEventId`. */
  stream: subscriptionProcedure
    .input(notificationStreamInput)
    .subscription(({ ctx, input, signal }) => openNotificationStream(ctx, { userId: ctx.user.id, lastEventId: input.lastEventId, signal })),

  /** Newest first, with the unread count. */
  list: authedProcedure.input(notificationListInput).query(({ ctx, input }) => {
    ctx.transport.budget?.spend(input.limit);
    return ctx.services.notifications.list(ctx.user.id, input);
  }),

  markRead: authedProcedure
    .input(notificationMarkReadInput)
    .mutation(({ ctx, input }) => ctx.services.notifications.markRead(ctx.user.id, input)),
});
