import type { PresenceDTO } from '../../shared/social.js';
import { presenceWatchInput } from '../../shared/schemas.js';
import { topics } from '../bus/topics.js';
import type { Topic } from '../bus/types.js';
import { presenceScopeTopic, type ScopeEvent } from '../services/blocks.js';
import type { Services } from '../services/index.js';
import { LiveStream, type StreamLogic, type StreamSink } from '../streams/live-stream.js';
import { listenThenRead } from '../streams/replay.js';
import { router, subscriptionProcedure } from '../trpc.js';

type WatchEvent = PresenceDTO | ScopeEvent;
/** Subscribing only reads: a subscriber over several topics receives the union of their events. */
const asWatched = <E extends WatchEvent>(topic: Topic<E>) => topic as unknown as Topic<WatchEvent>;

export const presenceRouter = router({
  /**
   * A snapshot of the watched users first, then each change. Only users whose presence the
   * caller may see (a shared group, or a conversation where both wrote; no block either way;
   * FORBIDDEN otherwise); all of them without `userIds`. When a relationship ends (a group
   * left or removed from, a block) the watch re-checks and drops who is no longer visible.
   */
  watch: subscriptionProcedure.input(presenceWatchInput).subscription(async ({ ctx, input, signal }) => {
    const userIds = await ctx.services.presence.watchable(ctx.user.id, input.userIds);
    const watched = [...userIds.map((id) => asWatched(topics.presence(id))), asWatched(presenceScopeTopic(ctx.user.id))];
    // Listen before the snapshot: a change in between arrives after it and wins.
    const { live, value: snapshot } = await listenThenRead(ctx.bus, watched, signal, () => ctx.services.presence.snapshot(userIds));
    return new LiveStream(live, new PresenceLive(ctx.services.presence, ctx.user.id, new Set(userIds), snapshot));
  }),
});

/** A snapshot first, then every batch of changes as it comes, of the users still visible. */
class PresenceLive implements StreamLogic<WatchEvent, PresenceDTO[]> {
  constructor(
    private readonly presence: Services['presence'],
    private readonly watcherId: number,
    private readonly visible: Set<number>,
    private snapshot: PresenceDTO[] | null,
  ) {}

  start(sink: StreamSink<PresenceDTO[]>) {
    sink.emit(this.snapshot!);
    this.snapshot = null; // not kept for the life of the stream
  }

  onBatch(events: WatchEvent[], overflowed: boolean, sink: StreamSink<PresenceDTO[]>): void | Promise<void> {
    // A relationship ended (or the bus dropped events): re-read who is visible first.
    if (overflowed || events.some((event) => 'scopeChanged' in event)) return this.recheck(events, overflowed, sink);
    this.emitVisible(events, sink);
  }

  private async recheck(events: WatchEvent[], overflowed: boolean, sink: StreamSink<PresenceDTO[]>) {
    const contacts = new Set(await this.presence.contactsOf(this.watcherId));
    for (const userId of [...this.visible]) if (!contacts.has(userId)) this.visible.delete(userId);
    // Dropped changes: a fresh snapshot, taken after every change still queued, supersedes them.
    if (overflowed) return sink.emit(await this.presence.snapshot([...this.visible]));
    this.emitVisible(events, sink);
  }

  private emitVisible(events: WatchEvent[], sink: StreamSink<PresenceDTO[]>) {
    const changes = events.filter((event): event is PresenceDTO => 'userId' in event && this.visible.has(event.userId));
    if (changes.length > 0) sink.emit(changes);
  }
}
