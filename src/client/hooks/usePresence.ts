import { useEffect, useMemo, useState } from 'react';
import { useRealtimeContext } from '../RealtimeProvider.js';
import type { RouterOutputs } from '../trpc.js';

type Presence = RouterOutputs['presence']['watch'] extends AsyncIterable<infer Batch> ? Batch extends ReadonlyArray<infer P> ? P : never : never;

/**
 * Online/offline state of some users: a snapshot first, then changes, live.
 *
 * @example
 * const presence = usePresence([2, 3]);
 * presence.isOnline(2); // true
 */
export function usePresence(userIds: readonly number[]) {
  const { realtime } = useRealtimeContext();
  const key = [...new Set(userIds)].sort((a, b) => a - b).join(',');
  const [byUser, setByUser] = useState<ReadonlyMap<number, Presence>>(() => new Map());

  useEffect(() => {
    if (key === '') return;
    const ids = key.split(',').map(Number);
    const subscription = realtime.trpcClient.presence.watch.subscribe(
      { userIds: ids },
      {
        onData: (batch) =>
          setByUser((current) => {
            const next = new Map(current);
            for (const presence of batch) next.set(presence.userId, presence);
            return next;
          }),
        onError: () => {},
      },
    );
    return () => subscription.unsubscribe();
  }, [realtime, key]);

  return useMemo(
    () => ({
      byUser,
      isOnline: (userId: number) => byUser.get(userId)?.status === 'online',
      lastSeenAt: (userId: number) => byUser.get(userId)?.lastSeenAt ?? null,
    }),
    [byUser],
  );
}
