import { userSearchInput } from '../../shared/schemas.js';
import { authedProcedure, router } from '../trpc.js';

export const userRouter = router({
  /** People to chat with or invite, by name prefix. */
  search: authedProcedure.input(userSearchInput).query(({ ctx, input }) => ctx.services.users.search(ctx.user.id, input.query)),
});
