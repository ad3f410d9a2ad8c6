import type { CursorPosition } from "../realtime/presence";
import { TickThrottle } from "../realtime/tick-throttle";

/** The size of a cursor update as JSON, as MAX_CURSOR_PAYLOAD_BYTES counts it. */
export function cursorJsonBytes(cursor: CursorPosition): number {
  return Buffer.byteLength(JSON.stringify({ x: cursor.x, y: cursor.y, tool: cursor.tool, color: cursor.color }));
}

/**
 * An upper bound of cursorJsonBytes that costs no serialization: the keys, two numbers of at
 * most 24 characters, and at most 6 bytes per UTF-16 unit of a string (a `\uXXXX` escape).
 */
export function cursorJsonBound(cursor: CursorPosition): number {
  const text = (value: string | null) => (value === null ? 4 : 2 + 6 * value.length);
  return 28 + 24 + 24 + text(cursor.tool) + text(cursor.color);
}

/**
 * The positions one instance accepted for one session, saved and announced as one batch per tick
 * (the last position of each user), not once per move. Ends itself after a quiet tick, so
 * only sessions with moving cursors hold one, and never publishes twice within a tick.
 */
export class CursorOutbox {
  private readonly pending = new Map<string, CursorPosition>();
  private readonly throttle: TickThrottle;

  constructor(
    tickMs: number,
    private readonly publish: (cursors: CursorPosition[]) => void,
    private readonly ended: () => void,
  ) {
    this.throttle = new TickThrottle(tickMs, () => this.flush());
  }

  /** Queues `cursor` for this tick's batch; a later position of the same user replaces it. */
  add(cursor: CursorPosition): void {
    // Deleted first so the batch lists users in the order of their latest moves.
    this.pending.delete(cursor.userId);
    this.pending.set(cursor.userId, cursor);
    this.throttle.request();
  }

  stop(): void {
    this.throttle.stop();
  }

  private flush(): void {
    if (this.pending.size === 0) {
      this.stop();
      this.ended();
      return;
    }
    const cursors = [...this.pending.values()];
    this.pending.clear();
    this.publish(cursors);
    // One more tick: the next batch, or the quiet tick that ends this outbox.
    this.throttle.request();
  }
}
