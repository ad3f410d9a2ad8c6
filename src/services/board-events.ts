import type { EntityManager } from "typeorm";
import type { AppliedBoardOp, BoardOpInput, BoardOpType, BoardState } from "../board";
import { invalidInput } from "../domain/errors";
import type { SessionEventEntity } from "../entities/session-event.entity";
import { type SessionEntity, type SessionStatus } from "../entities/session.entity";
import type { TimelineMessage } from "../realtime/messages";
import type { FeedStep, FeedViewer } from "./session-feed.service";
import { FINAL_STATUSES } from "./session-lifecycle";
import type { BoardEventType, NewSessionEvent } from "./timeline";

/**
 * Board ops as the timeline records them (BOARD_<op> events), and back as the engine replays
 * them; what a boardEvents stream makes of a timeline event; and the keyframe recorder the
 * write path hands its serialized boards to.
 */

/** The board's stored snapshots, as the write path uses them (SnapshotService). */
export interface KeyframeRecorder {
  /** SNAPSHOT_EVERY_EVENTS: a keyframe at every multiple of it. */
  readonly everyEvents: number;
  /** Stores `boards` (serialized as the write reached each), each at its event's seq, in the write's transaction. */
  record(tx: EntityManager, session: SessionEntity, boards: readonly SerializedBoard[], saved: readonly SessionEventEntity[]): Promise<void>;
  /** The latest stored board at or below `boardVersion`, to catch up from instead of version 0. */
  latest(tx: EntityManager, sessionId: string, boardVersion: number): Promise<BoardState | undefined>;
}

/** A board serialized at `version` (a keyframe on the write path). */
export interface SerializedBoard {
  version: number;
  /** The board's JSON text, UTF-8 (boardBytes). */
  bytes: Buffer;
}

/** The timeline events that record `applied`, made by `actorId`. */
export function toNewEvents(applied: readonly AppliedBoardOp[], actorId: string): NewSessionEvent[] {
  return applied.map((op) => ({ type: boardEventType(op.type), userId: actorId, clientOpId: op.clientOpId, boardVersion: op.version, data: op.data }));
}

/** The timeline type of a board op. */
export function boardEventType(type: BoardOpType): BoardEventType {
  return `BOARD_${type}` as BoardEventType;
}

/** A stored board event as the engine replays it. */
export function toAppliedOp(event: Pick<SessionEventEntity, "clientOpId" | "type" | "userId" | "boardVersion" | "data">): AppliedBoardOp {
  return {
    clientOpId: event.clientOpId as string,
    type: event.type.replace(/^BOARD_/, "") as BoardOpType,
    userId: event.userId as string,
    version: event.boardVersion as number,
    data: event.data,
  };
}

/** How a boardEvents stream goes on after `event`: board events delivered; ends like systemEvents. */
export function boardEventStep(event: TimelineMessage, viewer: FeedViewer): FeedStep<TimelineMessage> {
  if (event.type === "PARTICIPANT_KICK" && event.data?.userId === viewer.id) return { end: "forbidden" };
  if (event.type.startsWith("SESSION_") && FINAL_STATUSES.includes(event.data?.status as SessionStatus)) return { end: "complete" };
  return event.boardVersion !== null ? { item: event } : {};
}

/**
 * A client's batch as the engine takes it (plain JSON-shaped ops; GraphQL inputs are class
 * instances); BAD_USER_INPUT for no op, more than `maxOps` (MAX_BOARD_OPS_PER_BATCH), a
 * clientOpId outside 1–64 characters or repeated in the batch, or a RESTORE (server-made only).
 */
export function checkClientBatch(batch: readonly BoardOpInput[], maxOps: number): BoardOpInput[] {
  const inputs = batch.map(({ clientOpId, type, baseVersion, data }) => ({ clientOpId, type, baseVersion, data }));
  if (inputs.length === 0) throw invalidInput("Send at least one board event.", { field: "events" });
  if (inputs.length > maxOps) throw invalidInput(`At most ${maxOps} board events per call.`, { field: "events", max: maxOps });
  const ids = inputs.map((op) => op.clientOpId);
  if (ids.some((id) => typeof id !== "string" || id.length < 1 || id.length > 64)) {
    throw invalidInput("clientOpId must be 1 to 64 characters.", { field: "clientOpId" });
  }
  if (new Set(ids).size !== ids.length) throw invalidInput("A clientOpId appears twice in the batch.", { field: "clientOpId" });
  if (inputs.some((op) => op.type === "RESTORE")) throw invalidInput("RESTORE is written by the server only.", { field: "type" });
  return inputs;
}
