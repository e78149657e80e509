import { noInput, userSearchInput, userTargetInput } from '../../shared/schemas.js';
import { authedProcedure, router } from '../trpc.js';

export const userRouter = router({
  /** People to chat with or invite, by name prefix (users who blocked the caller are not found). */
  search: authedProcedure.input(userSearchInput).query(({ ctx, input }) => ctx.services.users.search(ctx.user.id, input.query)),

  /**
   * Silently: the blocked user is not told, and from then on cannot open a direct chat with,
   * message or invite the caller, nor see the caller's presence or typing. Idempotent.
   */
  block: authedProcedure.input(userTargetInput).mutation(({ ctx, input }) => ctx.services.blocks.block(ctx.user.id, input.userId)),

  /** Idempotent. */
  unblock: authedProcedure.input(userTargetInput).mutation(({ ctx, input }) => ctx.services.blocks.unblock(ctx.user.id, input.userId)),

  /** The users the caller blocked. */
  blocked: authedProcedure.input(noInput).query(({ ctx }) => ctx.services.blocks.blocked(ctx.user.id)),
});
