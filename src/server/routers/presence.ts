import type { PresenceDTO } from '../../shared/social.js';
import { presenceWatchInput } from '../../shared/schemas.js';
import { topics } from '../bus/topics.js';
import type { Topic } from '../bus/types.js';
import { presenceScopeTopic, type ScopeEvent } from '../services/blocks.js';
import type { Services } from '../services/index.js';
import { LiveStream, type StreamLogic, type StreamOutput } from '../streams/live-stream.js';
import { listenThenRead } from '../streams/replay.js';
import { router, subscriptionProcedure } from '../trpc.js';

type WatchEvent = PresenceDTO | ScopeEvent;
/** Subscribing only reads: a subscriber over several topics receives the union of their events. */
const asWatched = <E extends WatchEvent>(topic: Topic<E>) => topic as unknown as Topic<WatchEvent>;

export const presenceRouter = router({
  /**
   * A snapshot of the watched users first, then each change, of those whose presence the caller
   * may see (a shared group, or a conversation where both wrote; no block either way): others
   * are left out, whether they exist or not. Without `userIds`, every such user at subscribe
   * time. When a relationship ends or begins (a group left, removed from or joined, a block,
   * both having written) the watch re-checks: a user no longer visible drops out, one newly
   * visible gets a snapshot entry.
   */
  watch: subscriptionProcedure.input(presenceWatchInput).subscription(async ({ ctx, input, signal }) => {
    const { watched, visible } = await ctx.services.presence.watchable(ctx.user.id, input.userIds);
    const listened = [...watched.map((id) => asWatched(topics.presence(id))), asWatched(presenceScopeTopic(ctx.user.id))];
    // Listen before the snapshot: a change in between arrives after it and wins.
    const { live, value: snapshot } = await listenThenRead(ctx.bus, listened, signal, () => ctx.services.presence.snapshot(visible));
    return new LiveStream(live, new PresenceStreamLogic(ctx.services.presence, ctx.user.id, watched, new Set(visible), snapshot));
  }),
});

/** A snapshot first, then every batch of changes as it comes, of the users still visible. */
class PresenceStreamLogic implements StreamLogic<WatchEvent, PresenceDTO[]> {
  constructor(
    private readonly presence: Services['presence'],
    private readonly watcherId: number,
    private readonly watched: readonly number[],
    private readonly visible: Set<number>,
    private snapshot: PresenceDTO[] | null,
  ) {}

  start(out: StreamOutput<PresenceDTO[]>) {
    out.emit(this.snapshot!);
    this.snapshot = null; // not kept for the life of the stream
  }

  onBatch(events: WatchEvent[], overflowed: boolean, out: StreamOutput<PresenceDTO[]>): void | Promise<void> {
    // A relationship ended (or the bus dropped events): re-read who is visible first.
    if (overflowed || events.some((event) => 'scopeChanged' in event)) return this.recheck(events, overflowed, out);
    this.emitVisible(events, out);
  }

  private async recheck(events: WatchEvent[], overflowed: boolean, out: StreamOutput<PresenceDTO[]>) {
    const contacts = new Set(await this.presence.contactsOf(this.watcherId));
    const added: number[] = [];
    for (const userId of this.watched) {
      if (!contacts.has(userId)) this.visible.delete(userId);
      else if (!this.visible.has(userId)) added.push(userId), this.visible.add(userId);
    }
    // Dropped changes: a fresh snapshot, taken after every change still queued, supersedes them.
    if (overflowed) return out.emit(await this.presence.snapshot([...this.visible]));
    if (added.length > 0) out.emit(await this.presence.snapshot(added));
    this.emitVisible(events, out);
  }

  private emitVisible(events: WatchEvent[], out: StreamOutput<PresenceDTO[]>) {
    const changes = events.filter((event): event is PresenceDTO => 'userId' in event && this.visible.has(event.userId));
    if (changes.length > 0) out.emit(changes);
  }
}
