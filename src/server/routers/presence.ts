import type { PresenceDTO } from '../../shared/social.js';
import { presenceWatchInput } from '../../shared/schemas.js';
import { topics } from '../bus/topics.js';
import { linkedAbort } from '../streams/abort.js';
import { authedProcedure, router } from '../trpc.js';

export const presenceRouter = router({
  /**
   * A snapshot of the watched users first, then each change. Only users who share a
   * conversation or group with the caller (FORBIDDEN otherwise); all of them without `userIds`.
   */
  watch: authedProcedure.input(presenceWatchInput).subscription(async ({ ctx, input, signal }) => {
    const userIds = await ctx.services.presence.watchable(ctx.user.id, input.userIds);
    const stop = linkedAbort(signal);
    // Listen before the snapshot: a change in between arrives after it and wins.
    const live = ctx.bus.subscribe(userIds.map(topics.presence), { signal: stop.signal });
    const snapshot = await ctx.services.presence.snapshot(userIds);
    return (async function* (): AsyncGenerator<PresenceDTO[]> {
      try {
        yield snapshot;
        for await (const changes of live) yield changes;
      } finally {
        stop.abort();
      }
    })();
  }),
});
