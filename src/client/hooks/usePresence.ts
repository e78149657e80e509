import { useEffect, useMemo, useState } from 'react';
import { isRetryable } from '../logic/errors.js';
import { keepSubscribed } from '../logic/keep-subscribed.js';
import { useRealtimeContext } from '../RealtimeProvider.js';
import type { RouterOutputs } from '../trpc.js';

type Presence = RouterOutputs['presence']['watch'] extends AsyncIterable<infer Batch> ? Batch extends ReadonlyArray<infer P> ? P : never : never;

export type PresenceState = 'online' | 'offline' | 'unknown';

/**
 * Online/offline state of some users: a snapshot first, then changes, live (wsLink re-sends the
 * subscription after a reconnect and the server answers with a fresh snapshot). While our own
 * connection is down nobody's state is known, so it reads `unknown`, never a stale "online".
 *
 * @example
 * const presence = usePresence([2, 3]);
 * presence.stateOf(2); // 'online' | 'offline' | 'unknown'
 */
export function usePresence(userIds: readonly number[]) {
  const { realtime, status } = useRealtimeContext();
  const connected = status === 'online';
  const key = [...new Set(userIds)].sort((a, b) => a - b).join(',');
  const [byUser, setByUser] = useState<ReadonlyMap<number, Presence>>(() => new Map());

  useEffect(() => {
    if (key === '') return;
    const ids = key.split(',').map(Number);
    // Not tracked: a reopened watch starts with a fresh snapshot, which is all it needs.
    return keepSubscribed<readonly Presence[]>(
      (_lastEventId, handlers) => {
        const subscription = realtime.trpcClient.presence.watch.subscribe(
          { userIds: ids },
          { onData: (batch) => handlers.onData(undefined, batch), onError: handlers.onError },
        );
        return () => subscription.unsubscribe();
      },
      (batch) =>
        setByUser((current) => {
          const next = new Map(current);
          for (const presence of batch) next.set(presence.userId, presence);
          return next;
        }),
      { lastEventId: null, shouldRetry: isRetryable },
    );
  }, [realtime, key]);

  // A snapshot from before a loss is stale: forget it until the resent subscription answers.
  useEffect(() => {
    if (!connected) setByUser((current) => (current.size === 0 ? current : new Map()));
  }, [connected]);

  return useMemo(() => {
    const stateOf = (userId: number): PresenceState => {
      const presence = connected ? byUser.get(userId) : undefined;
      return presence ? (presence.status === 'online' ? 'online' : 'offline') : 'unknown';
    };
    return {
      byUser,
      stateOf,
      isOnline: (userId: number) => stateOf(userId) === 'online',
      lastSeenAt: (userId: number) => byUser.get(userId)?.lastSeenAt ?? null,
    };
  }, [byUser, connected]);
}
