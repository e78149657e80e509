import { createAuthService } from './auth.js';
import { createConnectionRegistry } from './connections.js';
import { createConversationService } from './conversations.js';
import type { Deps } from './deps.js';
import { createGroupService } from './groups.js';
import { createMembershipService } from './membership.js';
import { createMessageService } from './messages.js';
import { createRateLimits, type RateLimitConfig } from './rate-limits.js';

/** Builds every service once per server (or per test) from its dependencies; nothing is global. */
export function createServices(deps: Deps, options: { rateLimits?: RateLimitConfig } = {}) {
  const rateLimits = createRateLimits(options.rateLimits);
  const connections = createConnectionRegistry();
  const membership = createMembershipService(deps);
  const auth = createAuthService(deps);
  const conversations = createConversationService(deps, membership);
  const messages = createMessageService(deps, membership);
  const groups = createGroupService(deps, membership);
  return {
    /** Stops timers and background work (shutdown). */
    async dispose() {},
    rateLimits, connections, membership, auth, conversations, messages, groups };
}

export type Services = ReturnType<typeof createServices>;
export type { Deps };
