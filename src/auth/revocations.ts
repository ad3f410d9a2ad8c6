import type { DataSource } from "typeorm";
import type { EventBus } from "../realtime/event-bus";
import { topics } from "../realtime/topics";
import type { TokenRevoked } from "../realtime/messages";

/**
 * The revoked tokens this instance knows of, checked by TokenService.verify on every use
 * (remembered tokens included), so a check costs no statement. The database is the truth
 * (users.tokens_valid_after, revoked_tokens); how late can an instance be?
 * - The instance that revokes: not at all, it notes the revocation before answering.
 * - Others: one pub/sub hop (the bus). Messages are lost only while an instance's pub/sub
 *   connection is down: when it subscribes again, it reads the revocations of the last token
 *   lifetime again (no periodic read: nothing runs on the database while nothing changes).
 * - A starting instance: until its first read ends (`ready`), which starts as it is made.
 */
export class TokenRevocations {
  /** tokenId → when the token expires (ms): then it is forgotten. */
  private readonly tokens = new Map<string, number>();
  /** userId → tokens issued before this (ms) are refused. */
  private readonly users = new Map<string, number>();
  private readonly listeners = new Set<(revoked: TokenRevoked) => void>();
  private subscribe?: () => void;
  /** Resolves once the first read of the database has ended (or failed: the next one comes soon). */
  ready: Promise<void> = Promise.resolve();

  /**
   * Where revocations come from: `db`, read now and whenever the bus subscribed again, and `bus`,
   * subscribed by `start()` (the first token verified), as a pub/sub subscription made while
   * Redis is still connecting delays its readiness. `maxTokenTtlMs`: older changes matter no more.
   */
  followFrom(db: DataSource, bus: EventBus, maxTokenTtlMs: number): void {
    this.subscribe = () => {
      void bus
        .subscribe(topics.tokensRevoked())
        .then(async (feed) => {
          for await (const revoked of feed) this.note(revoked);
        })
        .catch(() => undefined);
    };
    const read = async () => {
      if (!db.isInitialized) return stopRereading(); // the app stopped
      const [users, tokens] = await Promise.all([
        db.query(`SELECT id, tokens_valid_after FROM users WHERE tokens_valid_after > $1`, [new Date(Date.now() - maxTokenTtlMs)]),
        db.query(`SELECT token_id, user_id, expires_at FROM revoked_tokens WHERE expires_at > now()`),
      ]);
      for (const u of users as Array<{ id: string; tokens_valid_after: Date | string }>) {
        this.note({ userId: u.id, validAfterMs: new Date(u.tokens_valid_after).getTime() });
      }
      for (const t of tokens as Array<{ token_id: string; user_id: string; expires_at: Date | string }>) {
        this.note({ userId: t.user_id, tokenId: t.token_id, expiresAtMs: new Date(t.expires_at).getTime() });
      }
    };
    const stopRereading = bus.onResubscribed(() => void read().catch(() => undefined));
    this.ready = read().catch(() => undefined);
  }

  /** Subscribes to the bus, once. */
  start(): void {
    const subscribe = this.subscribe;
    this.subscribe = undefined;
    subscribe?.();
  }

  /** Records a revocation (this instance's, the bus's or the database's); listeners hear of new ones. */
  note(revoked: TokenRevoked): void {
    let changed = false;
    if (revoked.tokenId !== undefined && revoked.expiresAtMs !== undefined && !this.tokens.has(revoked.tokenId)) {
      if (this.tokens.size > 10_000) this.forgetExpired();
      this.tokens.set(revoked.tokenId, revoked.expiresAtMs);
      changed = true;
    }
    if (revoked.validAfterMs !== undefined && revoked.validAfterMs > (this.users.get(revoked.userId) ?? -Infinity)) {
      this.users.set(revoked.userId, revoked.validAfterMs);
      changed = true;
    }
    if (changed) for (const listener of this.listeners) listener(revoked);
  }

  /** Whether a token of `userId` with id `tokenId`, issued at `issuedAtMs`, is revoked. */
  isRevoked(userId: string, tokenId: string, issuedAtMs: number): boolean {
    return this.tokens.has(tokenId) || issuedAtMs < (this.users.get(userId) ?? -Infinity);
  }

  /** Calls `listener` for every new revocation; answers a function that stops it. */
  onRevoked(listener: (revoked: TokenRevoked) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, expiresAt] of this.tokens) if (expiresAt < now) this.tokens.delete(id);
  }
}
