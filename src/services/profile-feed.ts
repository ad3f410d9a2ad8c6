import type { UserEntity } from "../entities/user.entity";
import type { EventBus } from "../realtime/event-bus";
import { queuedStream, type LiveStream, type OpenLiveStream, type SubscriberBuffer } from "../realtime/live-stream";
import { topics, type ProfileChanged } from "../realtime/topics";
import { resyncRequired, unauthenticated } from "../domain/errors";

interface Watcher {
  stream: LiveStream<UserEntity>;
  /** Its first value is out; until then a change only marks it `dirty`. */
  ready: boolean;
  dirty: boolean;
}

/**
 * The myProfile streams of this instance: one pub/sub subscription for every user's profile
 * changes while anyone here watches, one read of the changed user per change, and the same
 * row pushed to each of that user's streams (so it is executed once for all of them). An
 * idle subscriber costs an entry in a map, not a pub/sub subscription of its own.
 */
export class ProfileFeed {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private source?: Promise<AsyncIterableIterator<ProfileChanged>>;

  constructor(
    private readonly bus: EventBus,
    private readonly load: (userId: string) => Promise<UserEntity | null>,
    /** SUBSCRIBER_BUFFER_FRAMES/BYTES of a profile stream. */
    private readonly buffer: SubscriberBuffer,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** The user's profile now, then again after every change (UNAUTHENTICATED when the account is gone). */
  async watch(userId: string, open: OpenLiveStream = queuedStream): Promise<LiveStream<UserEntity>> {
    // Listening before the first read, so no change after it is missed.
    await this.listen();
    const watcher: Watcher = { ready: false, dirty: false } as Watcher;
    watcher.stream = open<UserEntity>({
      scope: `user:${userId}`,
      onClose: () => this.forget(userId, watcher),
      overflow: () => resyncRequired(),
      buffer: this.buffer,
    });
    let mine = this.watchers.get(userId);
    if (!mine) this.watchers.set(userId, (mine = new Set()));
    mine.add(watcher);
    try {
      do {
        watcher.dirty = false;
        const user = await this.load(userId);
        if (!user) throw unauthenticated("Your account no longer exists.");
        watcher.stream.push(user);
      } while (watcher.dirty);
      watcher.ready = true;
    } catch (err) {
      await watcher.stream.return?.();
      throw err;
    }
    return watcher.stream;
  }

  private async listen(): Promise<void> {
    if (!this.source) {
      const source = this.bus.subscribe(topics.profiles());
      this.source = source;
      source.catch(() => this.source === source && (this.source = undefined));
      void source.then((changes) => this.pump(changes)).catch(() => undefined);
    }
    await this.source;
  }

  /** Changes in arrival order, each with its own values: one read each, for every stream of that user on this instance. */
  private async pump(changes: AsyncIterableIterator<ProfileChanged>): Promise<void> {
    for await (const change of changes) {
      const mine = this.watchers.get(change.userId);
      if (!mine) continue;
      try {
        const row = await this.load(change.userId);
        if (!row) continue;
        // The change as it was made: the row read now may already hold a later one.
        const user = Object.assign(row, { displayName: change.displayName, updatedAt: new Date(change.updatedAt) });
        for (const watcher of mine) {
          if (watcher.ready) watcher.stream.push(user);
          else watcher.dirty = true;
        }
      } catch (err) {
        this.onError(err);
      }
    }
  }

  private forget(userId: string, watcher: Watcher): void {
    const mine = this.watchers.get(userId);
    if (!mine?.delete(watcher)) return;
    if (mine.size === 0) this.watchers.delete(userId);
    if (this.watchers.size === 0 && this.source) {
      // Nobody here watches: stop hearing every user's changes.
      void this.source.then((changes) => changes.return?.()).catch(() => undefined);
      this.source = undefined;
    }
  }
}
