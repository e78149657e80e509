import { trpc } from '../trpc.js';

/**
 * Accept or decline an invitation (from the groups panel or the bell): the group list, the
 * conversation list and the bell refresh, and an accepted group opens.
 */
// Return type spelled out: the library's .d.ts cannot name the inferred one (an internal @trpc/react-query type).
export function useInvitationResponse(onOpenConversation: (conversationId: number) => void): ReturnType<typeof trpc.group.respond.useMutation> {
  const utils = trpc.useUtils();
  return trpc.group.respond.useMutation({
    onSuccess: async (result) => {
      await Promise.all([utils.group.list.invalidate(), utils.conversation.list.invalidate(), utils.notification.list.invalidate()]);
      if (result.group) onOpenConversation(result.group.conversationId);
    },
    // Answered elsewhere meanwhile: show the current state instead of a stale button.
    onError: () => void Promise.all([utils.group.list.invalidate(), utils.notification.list.invalidate()]),
  });
}
