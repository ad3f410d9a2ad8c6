import { randomUUID } from "node:crypto";
import type { EventBus } from "../realtime/event-bus";
import type { PresenceChange, PresenceStore } from "../realtime/presence";
import { topics } from "../realtime/topics";

export interface ConnectionTiming {
  presenceTtlMs: number;
}

/** A held connection; `release` ends it (idempotent). */
export interface HeldConnection {
  release(): void;
}

/**
 * "Their realtime connection" of RULES.md "Participants": every session subscription of a
 * seated participant (presence, boardEvents, systemEvents, signals) holds one entry in the
 * PresenceStore with a heartbeat below PRESENCE_TTL_MS. The first entry of a user, on any
 * instance, is JOINED (the participant becomes CONNECTED); the last one going, or expiring
 * because its instance died, is LEFT (RECONNECTING). JOINED and LEFT are published once.
 *
 * Presence degrades rather than fails: while the store (Redis) is unreachable the
 * subscription goes on, and the next heartbeat registers it.
 */
export class SessionConnections {
  /** sessionId → connections held on this instance; the session's expiry sweep runs while any is. */
  private readonly local = new Map<string, { count: number; sweep: NodeJS.Timeout }>();
  /** "sessionId userId" → connections of that user held on this instance (presence_active_users). */
  private readonly users = new Map<string, number>();

  constructor(
    readonly store: PresenceStore,
    private readonly bus: EventBus,
    private readonly timing: ConnectionTiming,
    /** Told when a user's first connection to a session comes or their last one goes (any instance, once). */
    private readonly onConnection: (sessionId: string, userId: string, online: boolean) => Promise<void>,
    private readonly onError: (err: unknown) => void = () => undefined,
    /** Counts every heartbeat (presence_heartbeats_total). */
    private readonly heartbeats?: { inc(): void },
  ) {}

  /** Users holding at least one connection on this instance, once per session. */
  get onlineUsers(): number {
    return this.users.size;
  }

  /** How long an entry (a connection, a cursor) lives without a heartbeat. */
  get ttlMs(): number {
    return this.timing.presenceTtlMs;
  }

  /** Registers a connection of `userId` to `sessionId` until released. Never throws. */
  async hold(sessionId: string, userId: string): Promise<HeldConnection> {
    const connId = randomUUID();
    const user = `${sessionId} ${userId}`;
    this.users.set(user, (this.users.get(user) ?? 0) + 1);
    const touch = () => {
      this.heartbeats?.inc();
      return this.store
        .touch(sessionId, userId, connId, this.timing.presenceTtlMs)
        .then((joined) => (joined ? this.announce(sessionId, { kind: "JOINED", userId }) : undefined))
        .catch(this.onError); // a Redis blip: the next heartbeat tries again
    };
    await touch();
    // A third of the TTL: two heartbeats may be lost before the entry expires.
    const heartbeat = setInterval(touch, Math.max(1, Math.floor(this.timing.presenceTtlMs / 3)));
    heartbeat.unref();
    this.watchExpiry(sessionId, +1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(heartbeat);
        const remaining = (this.users.get(user) ?? 1) - 1;
        if (remaining > 0) this.users.set(user, remaining);
        else this.users.delete(user);
        this.watchExpiry(sessionId, -1);
        void this.store
          .remove(sessionId, userId, connId)
          .then((left) => (left ? this.announce(sessionId, { kind: "LEFT", userId }) : undefined))
          .catch(this.onError); // the entry then expires after the TTL, and a sweep says LEFT
      },
    };
  }

  private async announce(sessionId: string, change: PresenceChange): Promise<void> {
    // The participant's status follows its connection; a failure there must not keep the
    // others from hearing about the change.
    await this.onConnection(sessionId, change.userId, change.kind === "JOINED").catch(this.onError);
    await this.bus.publish(topics.presence(sessionId), change);
  }

  /**
   * Entries whose heartbeat stopped (an instance died) expire here: any instance holding
   * connections of the session may notice, the store tells exactly one of them, which
   * announces LEFT.
   */
  private watchExpiry(sessionId: string, delta: 1 | -1): void {
    const entry = this.local.get(sessionId);
    if (entry) {
      entry.count += delta;
      if (entry.count > 0) return;
      clearInterval(entry.sweep);
      this.local.delete(sessionId);
      return;
    }
    if (delta < 0) return;
    const sweep = setInterval(
      () => {
        this.store
          .sweep(sessionId)
          .then((gone) => Promise.all(gone.map((userId) => this.announce(sessionId, { kind: "LEFT", userId }))))
          .catch(this.onError); // a Redis blip: the next sweep finds the same entries
      },
      Math.max(10, Math.floor(this.timing.presenceTtlMs / 4)),
    );
    sweep.unref();
    this.local.set(sessionId, { count: 1, sweep });
  }

  /** Stops every sweep (instance shutdown); held connections are released by their streams. */
  close(): void {
    for (const { sweep } of this.local.values()) clearInterval(sweep);
    this.local.clear();
  }
}
