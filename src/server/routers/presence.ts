import type { PresenceDTO } from '../../shared/social.js';
import { presenceWatchInput } from '../../shared/schemas.js';
import { topics } from '../bus/topics.js';
import type { BusSubscription } from '../bus/types.js';
import { listenThenRead, LiveStream } from '../streams/replay.js';
import { router, subscriptionProcedure } from '../trpc.js';

export const presenceRouter = router({
  /**
   * A snapshot of the watched users first, then each change. Only users who share a
   * conversation or group with the caller (FORBIDDEN otherwise); all of them without `userIds`.
   */
  watch: subscriptionProcedure.input(presenceWatchInput).subscription(async ({ ctx, input, signal }) => {
    const userIds = await ctx.services.presence.watchable(ctx.user.id, input.userIds);
    // Listen before the snapshot: a change in between arrives after it and wins.
    const { live, value: snapshot } = await listenThenRead(
      ctx.bus,
      userIds.map(topics.presence),
      signal,
      () => ctx.services.presence.snapshot(userIds),
    );
    return new LiveStream(presenceChanges(live, snapshot), live);
  }),
});

/** Module-level, so an open stream holds only its subscription and the generator. */
async function* presenceChanges(live: BusSubscription<PresenceDTO>, snapshot: PresenceDTO[] | null): AsyncGenerator<PresenceDTO[]> {
  try {
    const first = snapshot!;
    snapshot = null; // not kept for the life of the stream
    yield first;
    for await (const changes of live) yield changes;
  } finally {
    live.close();
  }
}
