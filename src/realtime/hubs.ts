/** What a registry keeps: something with members that closes when the last one leaves. */
export interface Hub<M> {
  readonly isClosed: boolean;
  readonly members: Set<M>;
  close(): void;
}

/**
 * One hub per key (a session) on this instance, shared by its local members: opened by the
 * first, closed when the last leaves, replaced when a member comes after that.
 */
export class HubRegistry<M, H extends Hub<M>> {
  private readonly hubs = new Map<string, Promise<H>>();
  /** The hubs that finished opening, for work that cannot wait for one (see `current`). */
  private readonly ready = new Map<string, H>();

  constructor(private readonly open: (key: string) => Promise<H>) {}

  /** Hubs open or opening. */
  get size(): number {
    return this.hubs.size;
  }

  /**
   * Adds `member` to the key's open hub, runs `joined(hub)` in the same turn, and answers the
   * hub. Added in the same turn as the check that the hub is open: an await in between would
   * let its last member leave and close it, and a closed hub delivers nothing.
   */
  async join(key: string, member: M, joined: (hub: H) => void = () => undefined): Promise<H> {
    for (;;) {
      let pending = this.hubs.get(key);
      if (!pending) {
        const opening = this.open(key);
        this.hubs.set(key, opening);
        opening.then(
          (hub) => this.hubs.get(key) === opening && this.ready.set(key, hub),
          () => this.hubs.get(key) === opening && this.hubs.delete(key),
        );
        pending = opening;
      }
      const hub = await pending;
      if (!hub.isClosed) {
        hub.members.add(member);
        joined(hub);
        return hub;
      }
      if (this.hubs.get(key) === pending) this.hubs.delete(key);
    }
  }

  /** The key's open hub, if there is one now (none while it is still opening). */
  current(key: string): H | undefined {
    const hub = this.ready.get(key);
    return hub && !hub.isClosed ? hub : undefined;
  }

  /** The key's hub while it is still opening (undefined once open, or when there is none). */
  opening(key: string): Promise<H> | undefined {
    return this.ready.has(key) ? undefined : this.hubs.get(key);
  }

  /** Removes `member`; the last one closes the hub. */
  leave(key: string, hub: H, member: M): void {
    if (!hub.members.delete(member) || hub.members.size > 0) return;
    hub.close();
    if (this.ready.get(key) === hub) this.ready.delete(key);
    const pending = this.hubs.get(key);
    void pending?.then((current) => current === hub && this.hubs.get(key) === pending && this.hubs.delete(key));
  }
}
