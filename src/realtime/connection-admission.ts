import { SlidingWindowLimit } from "../infra/sliding-window";

/**
 * Who may open a WebSocket, before any token is checked (HARDENING.md, issue 11 finding 1):
 * per client address, at most `maxPending` sockets open that have not sent connection_init
 * yet, and at most `maxNewPerMinute` new sockets in any minute. Counted on this instance: it
 * guards this instance's sockets, and costs no round trip (it holds while Redis is down).
 */
export class ConnectionAdmission {
  private readonly pending = new Map<string, number>();
  private readonly recent: SlidingWindowLimit;

  constructor(private readonly limits: { maxPending: number; maxNewPerMinute: number }) {
    this.recent = new SlidingWindowLimit(limits.maxNewPerMinute, 60_000);
  }

  /**
   * Admits a new socket of `address`, counted as pending: answers how to end that (once its
   * connection_init came, or it closed; calling it again does nothing), or undefined when the
   * address is over a limit.
   */
  admit(address: string): (() => void) | undefined {
    const pending = this.pending.get(address) ?? 0;
    // A refused socket does not spend the address's budget of new ones.
    if (pending >= this.limits.maxPending || !this.recent.accept(address)) return undefined;
    this.pending.set(address, pending + 1);
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      const left = (this.pending.get(address) ?? 1) - 1;
      if (left > 0) this.pending.set(address, left);
      else this.pending.delete(address);
    };
  }

  close(): void {
    this.recent.close();
    this.pending.clear();
  }
}
