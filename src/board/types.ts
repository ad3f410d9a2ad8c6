/**
 * The board's data model (BOARD_OPS.md). Everything here is plain JSON: a BoardState can be
 * stored in a snapshot, sent over the wire and parsed back, and the engine treats the copy
 * exactly like the original. States, objects and recorded ops are immutable by convention:
 * the engine never mutates them and shares unchanged parts between versions.
 */

/** A layer; `BoardState.layers` lists them in drawing order, bottom first. */
export interface Layer {
  id: string;
  name: string;
}

/** One thing on the board (a stroke, a shape, a text, an image …). */
export interface BoardObject {
  id: string;
  kind: string;
  layerId: string;
  props: Record<string, unknown>;
  createdBy: string;
  /** The board version at which this object last changed. */
  version: number;
  /**
   * Drawing order inside its layer, higher on top: the board version that created the object.
   * Kept by modifications, undo/redo and restores, so an undone CLEAR comes back in the same
   * order (neither the objects map nor a jsonb column keeps insertion order).
   */
  z: number;
}

export const BOARD_OP_TYPES = [
  "STROKE",
  "OBJECT_CREATE",
  "OBJECT_MODIFY",
  "OBJECT_DELETE",
  "LAYER_ADD",
  "LAYER_DELETE",
  "LAYER_REORDER",
  "TEXT_EDIT",
  "IMAGE_UPLOAD",
  "UNDO",
  "REDO",
  "CLEAR",
  "RESTORE",
] as const;
export type BoardOpType = (typeof BOARD_OP_TYPES)[number];

/** The op types a user can undo: everything but UNDO, REDO and the server's RESTORE. */
export type UndoableOpType = Exclude<BoardOpType, "UNDO" | "REDO" | "RESTORE">;

export const CONFLICT_STRATEGIES = ["LAST_WRITE_WINS", "SERVER_WINS", "CLIENT_WINS"] as const;
export type ConflictStrategy = (typeof CONFLICT_STRATEGIES)[number];

/** The participant permissions board writes need (the contract's permission names). */
export type BoardPermission = "canDraw" | "canErase" | "canUploadImages" | "canAddLayers" | "canDeleteLayers" | "canReorderLayers" | "canClearBoard";

/** An operation as a client sends it (`BoardEventInput`); `data` is checked by the engine. */
export interface BoardOpInput {
  clientOpId: string;
  type: BoardOpType;
  /** The board version the client saw when it made the change. */
  baseVersion: number;
  data: unknown;
}

export type ConflictReason = "OBJECT_CHANGED" | "OBJECT_DELETED" | "OBJECT_EXISTS" | "LAYER_CHANGED" | "LAYER_DELETED";
export type ConflictResolution = "APPLIED" | "SKIPPED" | "RECREATED";

/** One conflict of one op (`BoardConflict` in the contract). */
export interface BoardConflict {
  clientOpId: string;
  /** The object the op targets; the layer's id for layer conflicts; null for a whole-order LAYER_REORDER. */
  objectId: string | null;
  reason: ConflictReason;
  resolution: ConflictResolution;
  /** The board version of the conflicting change. */
  currentVersion: number;
}

/**
 * An accepted op as recorded in the timeline: enough to re-apply it exactly, without
 * conflict logic. `data` is the op's data as resolved when it was accepted (defaults filled
 * in, conflict outcomes made explicit; see effects.ts for the shape per type), so clients can
 * apply it to their copy of the board with the rules of BOARD_OPS.md alone.
 */
export interface AppliedBoardOp {
  clientOpId: string;
  type: BoardOpType;
  userId: string;
  /** The board version this op produced. */
  version: number;
  data: Record<string, unknown>;
}

/** Why an op was accepted without effect and left out of `applied`. */
export type SkipReason = "CONFLICT" | "NOTHING_TO_UNDO" | "NOTHING_TO_REDO";

/** An op that was valid but not applied (it changed nothing, not even the version). */
export interface SkippedBoardOp {
  clientOpId: string;
  reason: SkipReason;
}

export interface ApplyResult {
  state: BoardState;
  /** The accepted ops in order; their versions are state.version + 1 … contiguous. */
  applied: AppliedBoardOp[];
  /** Every conflict, whatever the strategy did about it. */
  conflicts: BoardConflict[];
  /** Valid ops that were not applied (a skipping conflict, nothing to undo or redo). */
  skipped: SkippedBoardOp[];
  /**
   * In place (options.inPlace) only: puts the input state back exactly as it was before the
   * batch, for a caller whose store refused it. Valid until the state is changed again.
   */
  undo?: () => void;
}

export interface ApplyOptions {
  /** RESTORE is written by the server only; without this a RESTORE is invalid input. */
  allowRestore?: boolean;
  /**
   * The acting user's permissions. When given, each op's permission (requiredPermission,
   * evaluated on the board as it is when that op is reached, so an UNDO after a STROKE in the
   * same batch needs canDraw) is checked and one missing refuses the whole batch.
   */
  can?: (permission: BoardPermission) => boolean;
  /**
   * Writes into `state` itself (and answers it) instead of a copy: O(batch) instead of
   * O(board size) per call, for a board the caller owns alone (nobody else may hold it
   * expecting it unchanged). On an error every write is undone before the throw.
   */
  inPlace?: boolean;
}

/** Who changed something last, and at which board version. */
export interface ChangeMark {
  by: string;
  version: number;
}

/** A deleted object: who deleted it when, and what is needed to re-create it (CLIENT_WINS). */
export interface ObjectTombstone extends ChangeMark {
  kind: string;
  layerId: string;
}

/** A layer and its position in `layers`. */
export interface LayerSlot {
  layer: Layer;
  index: number;
}

/**
 * The values a set of objects and layers must take; applying one returns its inverse (the
 * values they had). Undo and redo entries are patches.
 */
export interface BoardPatch {
  /** Each touched object's value; null = absent. */
  objects: Record<string, BoardObject | null>;
  /** Each touched layer's value and position; null = absent (its objects go with it). */
  layers: Record<string, LayerSlot | null>;
  /** A layer order to establish among the layers present (see mergeLayerOrder). */
  order?: string[];
}

/** One step of a user's undo or redo stack. */
export interface HistoryEntry {
  /** The op that made the change (the original op also for an entry moved by UNDO/REDO). */
  clientOpId: string;
  type: UndoableOpType;
  /** Applying it reverts the op (undo stack) or re-applies it (redo stack). */
  patch: BoardPatch;
}

export interface UserHistory {
  /** Oldest first; at most BOARD_LIMITS.maxHistory entries. */
  undo: HistoryEntry[];
  redo: HistoryEntry[];
}

/** The engine's bookkeeping, stored with the board in snapshots; never sent to clients. */
export interface BoardMeta {
  /** Last change of every live object. */
  objectChanges: Record<string, ChangeMark>;
  /** Last change of every live layer: the layer itself (add, rename) or any object in it. */
  layerChanges: Record<string, ChangeMark>;
  /** Last change of the layer list (add, delete, reorder); null on a new board. */
  layerOrderChange: ChangeMark | null;
  /** Deleted objects (not re-created since): for "deleted since baseVersion" conflicts. */
  deletedObjects: Record<string, ObjectTombstone>;
  /** Deleted layers (not re-added since). */
  deletedLayers: Record<string, ChangeMark>;
  /** Undo/redo stacks per user id; a user with both stacks empty has no entry. */
  history: Record<string, UserHistory>;
}

export interface BoardState {
  /** Every accepted op +1; a new board is 0. */
  version: number;
  /** Drawing order, bottom first; never empty. */
  layers: Layer[];
  objects: Record<string, BoardObject>;
  meta: BoardMeta;
}

/** The client-facing board: BoardState without meta. */
export interface PublicBoard {
  version: number;
  layers: Layer[];
  objects: Record<string, BoardObject>;
  objectCount: number;
}
