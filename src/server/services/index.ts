import { createAccountService } from './accounts.js';
import { createAuthService } from './auth.js';
import { createBlockService } from './blocks.js';
import { createClusterEvents, shareAcrossInstances } from './cluster.js';
import { createConnectionRegistry } from './connections.js';
import { createConversationService } from './conversations.js';
import { createExternalUserService } from './external-users.js';
import type { Deps } from './deps.js';
import { createGroupService } from './groups.js';
import { startInboxFanout } from './inbox-fanout.js';
import { createMembershipService } from './membership.js';
import { createMessageService } from './messages.js';
import { createNotificationService } from './notifications.js';
import { createPresenceService, type PresenceStore } from './presence.js';
import { createRateLimits, type RateLimitConfig, type RateLimiterBackend } from './rate-limits.js';
import { createReadService } from './reads.js';
import { createSignInGuard } from './sign-in-guard.js';
import { createTypingService, type TypingStore } from './typing.js';
import { createUserService } from './users.js';

export type ServiceOptions = {
  rateLimits?: RateLimitConfig;
  /** Where rate-limit counters live (in memory by default). */
  rateLimiterBackend?: RateLimiterBackend;
  /** Shared stores for several instances; in-memory ones otherwise. */
  typingStore?: TypingStore;
  presenceStore?: PresenceStore;
};

/** Builds every service once per server (or per test) from its dependencies; nothing is global. */
export function createServices(deps: Deps, options: ServiceOptions = {}) {
  const report = (error: unknown) => deps.logger.error({ err: error }, 'background update failed');
  const rateLimits = createRateLimits(deps.metrics, options.rateLimits, options.rateLimiterBackend);
  const cluster = createClusterEvents(deps);
  const connections = createConnectionRegistry();
  const membership = createMembershipService(deps);
  const inboxFanout = startInboxFanout(deps, membership);
  const auth = createAuthService(deps, createSignInGuard(rateLimits, deps.metrics));
  const blocks = createBlockService(deps);
  shareAcrossInstances(cluster, membership, connections, blocks);
  const users = createUserService(deps, blocks);
  const externalUsers = createExternalUserService(deps);
  const conversations = createConversationService(deps, membership, blocks);
  const typing = createTypingService(deps, options.typingStore);
  const presence = createPresenceService(deps, connections, options.presenceStore);
  const notifications = createNotificationService(deps, membership, presence.presentHere, presence.onlineElsewhere);
  const messages = createMessageService(deps, membership, blocks, {
    afterPublish(sent) {
      // A sent message ends its sender's typing state in that conversation.
      for (const message of sent) typing.afterSend(message.conversationId, message.senderId).catch(report);
      notifications.notifyOffline(sent);
    },
  });
  const reads = createReadService(deps, membership, {
    afterRead: (userId, conversationId) => notifications.conversationRead(userId, conversationId),
  });
  const groups = createGroupService(deps, { membership, notifications, rateLimits, blocks });
  const accounts = createAccountService(deps, { membership, groups, messages, connections, externalUsers });
  // A user whose last connection closed is typing nowhere.
  connections.onLastDisconnection((userId) => void typing.stopAll(userId).catch(report));

  return {
    /** Stops timers and writes what was gathered (shutdown, end of a test). */
    async dispose() {
      await typing.dispose();
      await notifications.flushOffline();
      cluster.stop();
      await presence.dispose();
      await inboxFanout.stop();
    },
    rateLimits,
    cluster,
    blocks,
    connections,
    membership,
    auth,
    users,
    externalUsers,
    conversations,
    messages,
    reads,
    typing,
    presence,
    notifications,
    groups,
    accounts,
  };
}

export type Services = ReturnType<typeof createServices>;
export type { Deps };
