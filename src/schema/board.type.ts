import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { JSONScalar, SafeIntScalar } from "./scalars";

export enum BoardEventType {
  STROKE = "STROKE",
  OBJECT_CREATE = "OBJECT_CREATE",
  OBJECT_MODIFY = "OBJECT_MODIFY",
  OBJECT_DELETE = "OBJECT_DELETE",
  LAYER_ADD = "LAYER_ADD",
  LAYER_DELETE = "LAYER_DELETE",
  LAYER_REORDER = "LAYER_REORDER",
  TEXT_EDIT = "TEXT_EDIT",
  IMAGE_UPLOAD = "IMAGE_UPLOAD",
  UNDO = "UNDO",
  REDO = "REDO",
  CLEAR = "CLEAR",
  RESTORE = "RESTORE",
}
registerEnumType(BoardEventType, {
  name: "BoardEventType",
  valuesConfig: { RESTORE: { description: "Written by restoreSnapshot only: sets the board to a snapshot's content." } },
});

export enum ConflictStrategy {
  LAST_WRITE_WINS = "LAST_WRITE_WINS",
  SERVER_WINS = "SERVER_WINS",
  CLIENT_WINS = "CLIENT_WINS",
}
registerEnumType(ConflictStrategy, { name: "ConflictStrategy" });

export enum ConflictReason {
  OBJECT_CHANGED = "OBJECT_CHANGED",
  OBJECT_DELETED = "OBJECT_DELETED",
  OBJECT_EXISTS = "OBJECT_EXISTS",
  LAYER_CHANGED = "LAYER_CHANGED",
  LAYER_DELETED = "LAYER_DELETED",
}
registerEnumType(ConflictReason, { name: "ConflictReason" });

export enum ConflictResolution {
  APPLIED = "APPLIED",
  SKIPPED = "SKIPPED",
  RECREATED = "RECREATED",
}
registerEnumType(ConflictResolution, { name: "ConflictResolution" });

/** layers, objects and objectCount are field resolvers (BoardStateResolver): a replayed board is computed only for them. */
@ObjectType()
export class BoardState {
  @Field(() => Int) version: number;
  @Field(() => Int, {
    description: "Seq of the last timeline event reflected here: subscribe to boardEvents with afterSeq = lastSeq to continue without a gap.",
  })
  lastSeq: number;
}

@InputType()
export class BoardEventInput {
  @Field({ description: "Chosen by the client, unique per session and user; a repeated one is accepted once and never applied twice." })
  clientOpId: string;
  @Field(() => BoardEventType) type: BoardEventType;
  @Field(() => Int, { description: "The board version the client saw when it made this change." }) baseVersion: number;
  @Field(() => JSONScalar, { description: "The operation's fields; their shape per type is in BOARD_OPS.md." }) data: unknown;
}

@ObjectType()
export class BoardConflict {
  @Field() clientOpId: string;
  @Field(() => String, { nullable: true }) objectId: string | null;
  @Field(() => ConflictReason) reason: ConflictReason;
  @Field(() => ConflictResolution) resolution: ConflictResolution;
  @Field(() => Int, { description: "The board version of the conflicting change." }) currentVersion: number;
}

/** Resolved from a stored board event (SessionEventEntity or TimelineMessage); `user` is a field resolver. */
@ObjectType()
export class BoardEvent {
  @Field(() => ID) id: string;
  @Field(() => ID) sessionId: string;
  @Field(() => Int, { description: "Its seq in the session timeline (shared with every other event type, so not contiguous here)." })
  seq: number;
  @Field(() => Int, { description: "The board version this event produced: contiguous across board events, the way to notice a gap." })
  version: number;
  @Field(() => BoardEventType) type: BoardEventType;
  @Field() clientOpId: string;
  @Field(() => SafeIntScalar) timestampMs: number;
  @Field(() => JSONScalar) data: unknown;
}

@ObjectType()
export class ApplyBoardEventsPayload {
  @Field(() => [BoardEvent]) accepted: unknown[];
  @Field(() => [BoardConflict]) conflicts: BoardConflict[];
  @Field(() => Int) version: number;
}
