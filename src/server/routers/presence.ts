import type { PresenceDTO } from '../../shared/social.js';
import { presenceWatchInput } from '../../shared/schemas.js';
import { topics } from '../bus/topics.js';
import type { Services } from '../services/index.js';
import { LiveStream, type StreamLogic, type StreamOutput } from '../streams/live-stream.js';
import { listenThenRead } from '../streams/replay.js';
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
    return new LiveStream(live, new PresenceStreamLogic(ctx.services.presence, userIds, snapshot));
  }),
});

/** A snapshot first, then every batch of changes as it comes. */
class PresenceStreamLogic implements StreamLogic<PresenceDTO, PresenceDTO[]> {
  constructor(
    private readonly presence: Services['presence'],
    private readonly userIds: number[],
    private snapshot: PresenceDTO[] | null,
  ) {}

  start(out: StreamOutput<PresenceDTO[]>) {
    out.emit(this.snapshot!);
    this.snapshot = null; // not kept for the life of the stream
  }

  onBatch(changes: PresenceDTO[], overflowed: boolean, out: StreamOutput<PresenceDTO[]>): void | Promise<void> {
    // The bus dropped changes for this stream (a reader that stopped reading): a fresh snapshot,
    // taken after every change still queued, so it supersedes them.
    if (overflowed) return this.presence.snapshot(this.userIds).then((snapshot) => out.emit(snapshot));
    out.emit(changes);
  }
}
