import {
  groupCreateInput,
  groupIdInput,
  groupInviteInput,
  groupMemberInput,
  groupRespondInput,
  noInput,
} from '../../shared/schemas.js';
import { authedProcedure, router } from '../trpc.js';

export const groupRouter = router({
  /** The caller becomes owner; `memberIds` are invited (they join when they accept). */
  create: authedProcedure
    .input(groupCreateInput)
    .mutation(({ ctx, input }) => ctx.services.groups.create(ctx.user.id, input.name, input.memberIds)),

  /** Any member may invite; a member or an already-invited user is a CONFLICT. */
  invite: authedProcedure
    .input(groupInviteInput)
    .mutation(({ ctx, input }) => ctx.services.groups.invite(ctx.user.id, input.groupId, input.userId)),

  /** The invitee accepts or declines. */
  respond: authedProcedure
    .input(groupRespondInput)
    .mutation(({ ctx, input }) => ctx.services.groups.respond(ctx.user.id, input.invitationId, input.accept)),

  leave: authedProcedure.input(groupIdInput).mutation(({ ctx, input }) => ctx.services.groups.leave(ctx.user.id, input.groupId)),

  /** Owner only. */
  removeMember: authedProcedure
    .input(groupMemberInput)
    .mutation(({ ctx, input }) => ctx.services.groups.removeMember(ctx.user.id, input.groupId, input.userId)),

  members: authedProcedure.input(groupIdInput).query(({ ctx, input }) => ctx.services.groups.members(ctx.user.id, input.groupId)),

  /** The caller's groups and the invitations waiting for an answer. */
  list: authedProcedure.input(noInput).query(({ ctx }) => ctx.services.groups.list(ctx.user.id)),
});
