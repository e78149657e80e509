import { trpc } from '../trpc.js';

/**
 * Accept or decline an invitation (from the groups panel or the bell): the group list, the
 * conversation list and the bell refresh, and an accepted group opens.
 */
export function useInvitationResponse(onOpenConversation: (conversationId: number) => void) {
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
