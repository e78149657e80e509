import { randomUUID } from 'node:crypto';
import { topics } from '../bus/topics.js';
import type { Topic } from '../bus/types.js';
import type { BlockService } from './blocks.js';
import type { ConnectionRegistry } from './connections.js';
import type { MembershipService } from './membership.js';
import type { Deps } from './deps.js';

/**
 * What one instance tells the other instances about state each of them caches or holds locally.
 * On the in-process bus nobody else hears it.
 */
export type ClusterEvent =
  /**
   * Members of a conversation changed: drop the cached membership (streams re-check it). The
   * hook for re-checking presence watches when a relationship ends: `formerMembers` are the
   * members before the change if the announcer had them cached (else re-check every watch).
   */
  | { type: 'membership-changed'; conversationId: number; formerMembers?: number[] }
  /** A session was signed out: close its sockets, wherever they are open. */
  | { type: 'session-ended'; sessionId: string }
  /** A block was made or lifted: the cached blocker sets follow (services/blocks.ts). */
  | { type: 'block-changed'; blockerId: number; blockedId: number; blocked: boolean };

/** As it travels: which instance announced it (that one applied it already). */
type Announced = ClusterEvent & { from: string };

type Handler<T extends ClusterEvent['type']> = (event: Extract<ClusterEvent, { type: T }>) => void;

/**
 * One subscription per instance to `topics.cluster`. Handlers run synchronously as the bus hands
 * the batch over, before later events of the same delivery reach other streams: an invalidation
 * published before a conversation event (same publisher connection, one order in Redis) is applied
 * before the streams see that event.
 */
export function createClusterEvents({ bus, logger }: Pick<Deps, 'bus' | 'logger'>) {
  const handlers = new Map<ClusterEvent['type'], Array<(event: ClusterEvent) => void>>();
  const self = randomUUID();
  const subscription = bus.subscribe(topics.cluster as Topic<Announced>, {});
  subscription.deliverBatchesTo({
    receiveBatch(batch) {
      for (const event of batch) {
        if (event.from === self) continue;
        for (const handler of handlers.get(event.type) ?? []) {
          try {
            handler(event);
          } catch (error) {
            logger.error({ err: error, event: event.type }, 'cluster event handler failed');
          }
        }
      }
      return true;
    },
    receiveEnd() {},
  });

  return {
    /** Runs `handler` for events announced by the other instances (the announcer applied its own change already). */
    on<T extends ClusterEvent['type']>(type: T, handler: Handler<T>): void {
      handlers.set(type, [...(handlers.get(type) ?? []), handler as (event: ClusterEvent) => void]);
    },
    /** Tells every instance; the caller has already applied the change locally (at once). */
    announce(event: ClusterEvent): void {
      bus.publish(topics.cluster as Topic<Announced>, { ...event, from: self }).catch((error: unknown) => logger.warn({ err: error, event: event.type }, 'cluster event not published'));
    },
    stop(): void {
      subscription.close();
    },
  };
}

export type ClusterEvents = ReturnType<typeof createClusterEvents>;

/**
 * Membership invalidations, logouts and blocks apply here at once, as before, and on every other
 * instance when the event reaches it: a member removed on A stops receiving on B, a signed-out
 * session's sockets close wherever they are open, a block made on A hides typing on B. (Session expiry needs nothing: each instance closes its
 * own sockets by their session's expiry.)
 */
export function shareAcrossInstances(cluster: ClusterEvents, membership: MembershipService, connections: ConnectionRegistry, blocks: BlockService): void {
  const { block, unblock } = { block: blocks.block, unblock: blocks.unblock };
  blocks.block = async (blockerId, blockedId) => {
    const done = await block(blockerId, blockedId);
    cluster.announce({ type: 'block-changed', blockerId, blockedId, blocked: true });
    return done;
  };
  blocks.unblock = async (blockerId, blockedId) => {
    const done = await unblock(blockerId, blockedId);
    cluster.announce({ type: 'block-changed', blockerId, blockedId, blocked: false });
    return done;
  };
  cluster.on('block-changed', ({ blockerId, blockedId, blocked }) => blocks.applyRemote(blockerId, blockedId, blocked));
  const { invalidate, closeSession } = { invalidate: membership.invalidate, closeSession: connections.closeSession };
  membership.invalidate = (conversationId) => {
    const former = membership.cached(conversationId);
    invalidate(conversationId);
    cluster.announce({ type: 'membership-changed', conversationId, ...(former ? { formerMembers: [...former] } : {}) });
  };
  connections.closeSession = (sessionId) => {
    closeSession(sessionId);
    cluster.announce({ type: 'session-ended', sessionId });
  };
  cluster.on('membership-changed', ({ conversationId }) => invalidate(conversationId));
  cluster.on('session-ended', ({ sessionId }) => closeSession(sessionId));
}
