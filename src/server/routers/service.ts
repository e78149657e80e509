import {
  serviceCreateGroupInput,
  serviceDeleteUserInput,
  serviceMemberInput,
  serviceNotifyInput,
  serviceSystemMessageInput,
  serviceUserInput,
} from '../../shared/integration.js';
import { router, serviceProcedure } from '../trpc.js';

/**
 * The host backend's API (trusted code only: a service caller in-process, or the service token
 * over HTTP). Users are named by our id or the host's (`{ externalId }`, with `name` to create them).
 */
export const serviceRouter = router({
  /** Creates or updates a host user (name, avatar) and returns it: our id for the host's. */
  user: serviceProcedure.input(serviceUserInput).mutation(({ ctx, input }) => ctx.services.externalUsers.upsert(input)),

  /** A notification (like, comment, follow…) to one user, live on their open tabs. */
  notify: serviceProcedure.input(serviceNotifyInput).mutation(async ({ ctx, input }) =>
    ctx.services.notifications.push({ userId: await ctx.services.externalUsers.idOf(input.user), type: input.type, content: input.content }),
  ),

  /** A group whose members are in at once (no invitations); returns its conversation as the owner sees it. */
  createGroup: serviceProcedure.input(serviceCreateGroupInput).mutation(async ({ ctx, input }) => {
    const { externalUsers, accounts } = ctx.services;
    const ownerId = await externalUsers.idOf(input.owner);
    const memberIds: number[] = [];
    for (const member of input.members) memberIds.push(await externalUsers.idOf(member));
    return accounts.createGroup(ownerId, input.name, memberIds);
  }),

  addMember: serviceProcedure
    .input(serviceMemberInput)
    .mutation(async ({ ctx, input }) => ctx.services.accounts.addMember(input.groupId, await ctx.services.externalUsers.idOf(input.user))),

  removeMember: serviceProcedure
    .input(serviceMemberInput)
    .mutation(async ({ ctx, input }) => ctx.services.accounts.removeMember(input.groupId, await ctx.services.externalUsers.idOf(input.user))),

  /** A message from "System" in a conversation or group; `clientMessageId` makes retries safe. */
  postSystemMessage: serviceProcedure.input(serviceSystemMessageInput).mutation(({ ctx, input }) => ctx.services.accounts.postSystemMessage(input)),

  /** Deletes an account by the documented rule (README, "Account deletion"); its sessions and sockets end at once. */
  deleteUser: serviceProcedure
    .input(serviceDeleteUserInput)
    .mutation(async ({ ctx, input }) => ctx.services.accounts.deleteUser(await ctx.services.externalUsers.idOf(input.user))),
});
