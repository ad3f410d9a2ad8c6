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
  description:
    "A board operation: the shape of its `data` and the permission it needs (BOARD_OPS.md). Malformed data is BAD_USER_INPUT; one op without its permission refuses the whole batch (FORBIDDEN).",
  valuesConfig: {
    STROKE: { description: "`{ id, layerId?, points: [[x, y], …], color?, width? }`: draws a stroke object. Needs canDraw." },
    OBJECT_CREATE: { description: "`{ id, kind, layerId?, props }`: creates an object; an existing id is a conflict. Needs canDraw." },
    OBJECT_MODIFY: { description: "`{ id, props }`: merges props into the object (shallow). Needs canDraw." },
    OBJECT_DELETE: { description: "`{ id }`: removes the object. Needs canErase." },
    LAYER_ADD: { description: "`{ id, name, index? }`: inserts a layer, at the top without index; at most 100 layers. Needs canAddLayers." },
    LAYER_DELETE: { description: "`{ id }`: removes the layer and its objects; the last layer stays. Needs canDeleteLayers." },
    LAYER_REORDER: { description: "`{ order: [layerId, …] }`, naming every layer once, bottom first. Needs canReorderLayers." },
    TEXT_EDIT: { description: "`{ id, text }`: sets a text object's text, creating it in the default layer if absent. Needs canDraw." },
    IMAGE_UPLOAD: { description: "`{ id, url, x, y, width, height, layerId? }`: places an image object. Needs canUploadImages." },
    UNDO: { description: "`{}`: reverts your latest operation not yet undone, as a new version. Needs that operation's permission." },
    REDO: { description: "`{}`: re-applies your latest undone operation, as a new version. Needs its permission." },
    CLEAR: { description: "`{}`: removes every object; the layers stay. Needs canClearBoard." },
    RESTORE: {
      description:
        "Written by the server only (restoreSnapshot, importBoard REPLACE, createSoloSnapshot): sets the board to the given content. A client sending it gets BAD_USER_INPUT.",
    },
  },
});

export enum ConflictStrategy {
  LAST_WRITE_WINS = "LAST_WRITE_WINS",
  SERVER_WINS = "SERVER_WINS",
  CLIENT_WINS = "CLIENT_WINS",
}
registerEnumType(ConflictStrategy, {
  name: "ConflictStrategy",
  description: "What becomes of an op that conflicts with another user's change after its baseVersion; every conflict is reported, whatever the strategy.",
  valuesConfig: {
    LAST_WRITE_WINS: {
      description:
        "The default: a change to a changed object or layer is applied; one to a deleted object or layer, or a create of an existing id, is skipped.",
    },
    SERVER_WINS: { description: "Every conflicting op is skipped." },
    CLIENT_WINS: { description: "Every conflicting op is applied: a deleted object is re-created with the op's props, an existing id replaced." },
  },
});

export enum ConflictReason {
  OBJECT_CHANGED = "OBJECT_CHANGED",
  OBJECT_DELETED = "OBJECT_DELETED",
  OBJECT_EXISTS = "OBJECT_EXISTS",
  LAYER_CHANGED = "LAYER_CHANGED",
  LAYER_DELETED = "LAYER_DELETED",
}
registerEnumType(ConflictReason, {
  name: "ConflictReason",
  description: "Why an op conflicted. Changes by the same user never conflict.",
  valuesConfig: {
    OBJECT_CHANGED: { description: "Another user changed the object after the op's baseVersion." },
    OBJECT_DELETED: { description: "Another user deleted the object after the op's baseVersion." },
    OBJECT_EXISTS: { description: "The id the op creates exists already." },
    LAYER_CHANGED: { description: "Another user changed the layer, or an object on it, after the op's baseVersion." },
    LAYER_DELETED: { description: "Another user deleted the layer after the op's baseVersion." },
  },
});

export enum ConflictResolution {
  APPLIED = "APPLIED",
  SKIPPED = "SKIPPED",
  RECREATED = "RECREATED",
}
registerEnumType(ConflictResolution, {
  name: "ConflictResolution",
  description: "What the strategy did with a conflicting op.",
  valuesConfig: {
    APPLIED: { description: "Applied anyway." },
    SKIPPED: { description: "Not applied: not in `accepted`, and the version did not change for it." },
    RECREATED: { description: "The deleted object was created again with the op's props." },
  },
});

/** layers, objects and objectCount are field resolvers (BoardStateResolver): a replayed board is computed only for them. */
@ObjectType({
  description: "A whiteboard's layers and objects at one board version. To follow it live, subscribe to boardEvents with afterSeq = lastSeq.",
})
export class BoardState {
  @Field(() => Int, { description: "The board version: accepted board operations so far (0 for a new board)." }) version: number;
  @Field(() => Int, {
    description: "Seq of the last timeline event reflected here: subscribe to boardEvents with afterSeq = lastSeq to continue without a gap.",
  })
  lastSeq: number;
}

@InputType({ description: "One board operation of applyBoardEvents." })
export class BoardEventInput {
  @Field({ description: "Chosen by the client (1 to 64 characters), unique per session and user; a repeated one is accepted once and never applied twice." })
  clientOpId: string;
  @Field(() => BoardEventType, { description: "The operation; RESTORE is refused (BAD_USER_INPUT)." }) type: BoardEventType;
  @Field(() => Int, { description: "The board version the client saw when it made this change." }) baseVersion: number;
  @Field(() => JSONScalar, { description: "The operation's fields; their shape per type is in BOARD_OPS.md." }) data: unknown;
}

@ObjectType({ description: "An op that touched what another user changed after its baseVersion, and what became of it." })
export class BoardConflict {
  @Field({ description: "The op's clientOpId." }) clientOpId: string;
  @Field(() => String, { nullable: true, description: "The object (or layer) concerned; null for a LAYER_REORDER of the whole order." }) objectId:
    string | null;
  @Field(() => ConflictReason, { description: "What the conflict was." }) reason: ConflictReason;
  @Field(() => ConflictResolution, { description: "What the strategy did with the op." }) resolution: ConflictResolution;
  @Field(() => Int, { description: "The board version of the conflicting change." }) currentVersion: number;
}

/** Resolved from a stored board event (SessionEventEntity or TimelineMessage); `user` is a field resolver. */
@ObjectType({ description: "An accepted board operation, as applyBoardEvents answers it and boardEvents delivers it." })
export class BoardEvent {
  @Field(() => ID, { description: "Its timeline event's id." }) id: string;
  @Field(() => ID, { description: "The session whose board it changed." }) sessionId: string;
  @Field(() => Int, { description: "Its seq in the session timeline (shared with every other event type, so not contiguous here)." })
  seq: number;
  @Field(() => Int, { description: "The board version this event produced: contiguous across board events, the way to notice a gap." })
  version: number;
  @Field(() => BoardEventType, { description: "The operation." }) type: BoardEventType;
  @Field({ description: "The clientOpId it was sent with (server-made ops: `restore:…`, `import:…`)." }) clientOpId: string;
  @Field(() => SafeIntScalar, { description: "Milliseconds since the session's actual start when it was recorded; 0 for events before it." })
  timestampMs: number;
  @Field(() => JSONScalar, { description: "The operation's data as it was applied." }) data: unknown;
}

@ObjectType({ description: "What a board write answers (applyBoardEvents, importBoard)." })
export class ApplyBoardEventsPayload {
  @Field(() => [BoardEvent], {
    description: "The accepted ops, in the batch's order; a repeated clientOpId gives the event first accepted for it, a skipped op is absent.",
  })
  accepted: unknown[];
  @Field(() => [BoardConflict], { description: "Every conflict, whatever the strategy." }) conflicts: BoardConflict[];
  @Field(() => Int, { description: "The board version after the write." }) version: number;
}
