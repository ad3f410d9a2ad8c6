import { LiveStream, request } from "../api/client";
import { errorCode, humanMessage } from "../api/errors";
import {
  ApplyBoardEventsDocument,
  BoardDocument,
  BoardEventsDocument,
  type BoardEventInput,
  type BoardEventType,
  type BoardEventsSubscription,
  type BoardEventsSubscriptionVariables,
} from "../generated/graphql";
import { applyEvent, boardFromState, emptyBoard, type Board } from "./model";

/** Ops are sent in small batches: at most this many, at most this often. */
const BATCH_MAX = 20;
const BATCH_DELAY_MS = 40;

/** An op the user made that the server has not yet confirmed through boardEvents. */
export interface PendingOp {
  clientOpId: string;
  type: BoardEventType;
  data: Record<string, unknown>;
}

/**
 * Keeps one session's board in sync: reads it (session.board), then follows boardEvents from
 * its lastSeq. Events at or below the board's lastSeq are dropped (resumes may repeat), and a
 * version gap or RESYNC_REQUIRED reloads the board and resumes from the reloaded lastSeq.
 * The user's ops go out in small batches with clientOpIds; until their events come back they
 * are drawn as pending, and a batch that fails on the network is sent again with the same
 * clientOpIds (the server applies each once).
 */
export class BoardSync {
  board: Board = emptyBoard();
  readonly pending: PendingOp[] = [];
  private unsent: PendingOp[] = [];
  private stream: LiveStream<BoardEventsSubscription, BoardEventsSubscriptionVariables> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending = false;
  private loaded = false;
  private buffered: Array<{ seq: number; version: number; type: string; data: unknown; clientOpId: string }> = [];
  private opCounter = 0;

  constructor(
    private readonly sessionId: string,
    private readonly onChange: () => void,
    /** A message for the person; `streamEnd` is set when the board stream itself ended with that code. */
    private readonly onError: (message: string, streamEnd?: string) => void,
  ) {}

  async start(): Promise<void> {
    await this.reload();
    this.stream = new LiveStream(
      BoardEventsDocument,
      () => ({ sessionId: this.sessionId, afterSeq: this.board.lastSeq }),
      (data) => this.receive(data.boardEvents),
      (end) => {
        if (end.code === "RESYNC_REQUIRED") void this.reload().then(() => this.stream?.restart());
        else if (end.code) this.onError(end.message ?? "The board stream ended.", end.code);
      },
    );
  }

  stop(): void {
    this.stream?.stop();
    clearTimeout(this.timer);
  }

  /** Queues an op of the user's; it is drawn at once (pending) and sent with the next batch. */
  push(type: BoardEventType, data: Record<string, unknown>): void {
    const op: PendingOp = { clientOpId: `${Date.now().toString(36)}-${(++this.opCounter).toString(36)}-${Math.random().toString(36).slice(2, 8)}`, type, data };
    this.pending.push(op);
    this.unsent.push(op);
    this.onChange();
    this.timer ??= setTimeout(() => void this.flush(), BATCH_DELAY_MS);
  }

  /** A new object id, unique across clients. */
  newId(prefix: string): string {
    return `${prefix}-${crypto.randomUUID().slice(0, 12)}`;
  }

  private async reload(): Promise<void> {
    const result = await request(BoardDocument, { id: this.sessionId }, { network: true });
    const state = result.data?.session?.board;
    if (!state) {
      this.onError(humanMessage(result.error));
      return;
    }
    if (!this.loaded || state.lastSeq >= this.board.lastSeq) this.board = boardFromState(state);
    this.loaded = true;
    const buffered = this.buffered.splice(0);
    for (const event of buffered) this.receive(event);
    this.onChange();
  }

  private receive(event: { seq: number; version: number; type: string; data: unknown; clientOpId: string }): void {
    if (!this.loaded) {
      this.buffered.push(event);
      return;
    }
    if (event.seq <= this.board.lastSeq) return;
    if (event.version !== this.board.version + 1) {
      // A lost event: the board is read again and the stream goes on from there.
      this.loaded = false;
      this.buffered.push(event);
      void this.reload();
      return;
    }
    applyEvent(this.board, event);
    const mine = this.pending.findIndex((op) => op.clientOpId === event.clientOpId);
    if (mine >= 0) this.pending.splice(mine, 1);
    this.onChange();
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    if (this.sending || this.unsent.length === 0) return;
    this.sending = true;
    const batch = this.unsent.slice(0, BATCH_MAX);
    const events: BoardEventInput[] = batch.map((op) => ({ clientOpId: op.clientOpId, type: op.type, data: op.data, baseVersion: this.board.version }));
    try {
      const result = await request(ApplyBoardEventsDocument, { sessionId: this.sessionId, events });
      if (result.error && !result.data) {
        const code = errorCode(result.error);
        if (result.error.networkError || code === "UNAVAILABLE" || code === "RATE_LIMITED") {
          // Offline, the server away, its database briefly unavailable, or too fast: nothing was
          // written, and the same batch (same clientOpIds, so applied once) goes again.
          if (code === "RATE_LIMITED") this.onError(humanMessage(result.error));
          const retryAfterMs = Number((result.error.graphQLErrors[0]?.extensions as { retryAfterMs?: unknown } | undefined)?.retryAfterMs);
          this.sending = false;
          this.timer = setTimeout(() => void this.flush(), Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : navigator.onLine ? 1_000 : 250);
          return;
        }
        this.onError(humanMessage(result.error));
        for (const op of batch) this.pending.splice(this.pending.indexOf(op), 1);
        this.onChange();
      } else {
        // Skipped ops (conflicts) never come back as events: stop drawing them as pending.
        const accepted = new Set(result.data?.applyBoardEvents.accepted.map((e) => e.clientOpId));
        for (const op of batch) if (!accepted.has(op.clientOpId) && this.pending.includes(op)) this.pending.splice(this.pending.indexOf(op), 1);
      }
      this.unsent.splice(0, batch.length);
    } finally {
      this.sending = false;
    }
    if (this.unsent.length) this.timer ??= setTimeout(() => void this.flush(), BATCH_DELAY_MS);
  }
}
