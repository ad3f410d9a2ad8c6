import { resolve } from "./conflicts";
import { Draft, getOwn, setOwn, sortedKeys } from "./draft";
import { execute } from "./effects";
import { BoardPermissionError, BoardReplayError, BoardValidationError } from "./errors";
import { nextRedo, nextUndo } from "./history";
import {
  CONFLICT_STRATEGIES,
  type AppliedBoardOp,
  type ApplyOptions,
  type ApplyResult,
  type BoardConflict,
  type BoardObject,
  type BoardOpInput,
  type BoardOpType,
  type BoardPatch,
  type BoardPermission,
  type BoardState,
  type ConflictStrategy,
  type PublicBoard,
  type SkippedBoardOp,
} from "./types";
import { BOARD_LIMITS, IMAGE_KIND, IMAGE_URL_PROPS, isPlainObject, parseBoardContent, parseOp, type BoardContent } from "./validate";

/** A new board: version 0, one layer `{ id: "default", name: "Layer 1" }`, no objects. */
export function emptyBoard(): BoardState {
  return {
    version: 0,
    layers: [{ id: "default", name: "Layer 1" }],
    objects: {},
    meta: { objectChanges: {}, layerChanges: {}, layerOrderChange: null, deletedObjects: {}, deletedLayers: {}, history: {} },
  };
}

/**
 * Validates the whole batch against the state (each op against the board as the ops before it
 * in the batch left it) and applies each op in order as `userId` with `strategy`. Throws
 * BoardValidationError (malformed op, over a limit, a RESTORE without allowRestore) or
 * BoardPermissionError (options.can refused one) and then nothing is applied. Never mutates
 * `state` (the result shares its unchanged parts) unless options.inPlace says the caller owns it.
 */
export function applyOps(
  state: BoardState,
  ops: readonly BoardOpInput[],
  userId: string,
  strategy: ConflictStrategy = "LAST_WRITE_WINS",
  options: ApplyOptions = {},
): ApplyResult {
  if (typeof userId !== "string" || userId.length === 0) throw new TypeError("applyOps needs the acting user's id");
  if (!CONFLICT_STRATEGIES.includes(strategy)) throw new BoardValidationError(`unknown conflict strategy ${String(strategy)}`, -1, null);
  if (!Array.isArray(ops)) throw new BoardValidationError("ops must be an array", -1, null);
  if (ops.length > BOARD_LIMITS.maxOpsPerBatch) {
    throw new BoardValidationError(`at most ${BOARD_LIMITS.maxOpsPerBatch} board operations per batch`, -1, null);
  }
  const draft = new Draft(state, options.inPlace === true);
  const applied: AppliedBoardOp[] = [];
  const conflicts: BoardConflict[] = [];
  const skipped: SkippedBoardOp[] = [];
  guarded(draft, () =>
    ops.forEach((raw, index) => {
      const op = parseOp(raw, index, options.allowRestore === true);
      const fail = (reason: string): never => {
        throw new BoardValidationError(reason, index, op.clientOpId);
      };
      const permission = permissionOn(draft, op, userId);
      if (permission && options.can && !options.can(permission)) throw new BoardPermissionError(permission, index, op.clientOpId);
      const resolution = resolve(draft, op, userId, strategy, fail);
      conflicts.push(...resolution.conflicts);
      if (resolution.data === null) {
        skipped.push({ clientOpId: op.clientOpId, reason: resolution.skipped ?? "CONFLICT" });
        return;
      }
      const accepted: AppliedBoardOp = { clientOpId: op.clientOpId, type: op.type, userId, version: draft.version + 1, data: resolution.data };
      execute(draft, accepted);
      applied.push(accepted);
    }),
  );
  const { state: result, undo } = draft.toStateWithUndo();
  return { state: result, applied, conflicts, skipped, ...(undo ? { undo } : {}) };
}

/** Runs `work`; if it throws, an in-place draft is rolled back first. */
function guarded(draft: Draft, work: () => void): void {
  try {
    work();
  } catch (err) {
    draft.rollback();
    throw err;
  }
}

/**
 * Re-applies a recorded op (replay, catch-up from the timeline): the same board, meta
 * included, as when it was accepted. Throws BoardReplayError if op.version !== state.version + 1
 * or the op does not fit the board. Never mutates `state`.
 */
export function replayOp(state: BoardState, op: AppliedBoardOp): BoardState {
  return replayOps(state, [op]);
}

/**
 * replayOp for a run of ops, copying the board once rather than once per op; with inPlace
 * (see ApplyOptions.inPlace) it writes into `state`, e.g. a snapshot just parsed for a seek.
 */
export function replayOps(state: BoardState, ops: readonly AppliedBoardOp[], options: { inPlace?: boolean } = {}): BoardState {
  const draft = new Draft(state, options.inPlace === true);
  guarded(draft, () => {
    for (const op of ops) {
      if (op.version !== draft.version + 1) {
        throw new BoardReplayError(`op ${op.clientOpId} has version ${op.version}; the board is at ${draft.version}`);
      }
      execute(draft, op);
    }
  });
  return draft.toState();
}

/** BOARD_OPS.md "Permissions per operation". */
const PERMISSIONS: Record<Exclude<BoardOpType, "UNDO" | "REDO">, BoardPermission> = {
  STROKE: "canDraw",
  OBJECT_CREATE: "canDraw",
  OBJECT_MODIFY: "canDraw",
  TEXT_EDIT: "canDraw",
  OBJECT_DELETE: "canErase",
  IMAGE_UPLOAD: "canUploadImages",
  LAYER_ADD: "canAddLayers",
  LAYER_DELETE: "canDeleteLayers",
  LAYER_REORDER: "canReorderLayers",
  CLEAR: "canClearBoard",
  // Server-written; the service also lets the host restore (RULES.md).
  RESTORE: "canClearBoard",
};

/**
 * The permission `op` needs when `userId` sends it on `state`; for UNDO/REDO the permission of
 * the op being undone/redone (null when there is nothing to undo/redo). Within a batch an
 * UNDO's target depends on the ops before it: pass ApplyOptions.can to applyOps to check each
 * op on the board it meets. Throws BoardValidationError for an unknown type.
 */
export function requiredPermission(state: BoardState, op: BoardOpInput, userId: string): BoardPermission | null {
  if (!isPlainObject(op) || (!Object.hasOwn(PERMISSIONS, op.type) && op.type !== "UNDO" && op.type !== "REDO")) {
    throw new BoardValidationError(`unknown type ${JSON.stringify((op as { type?: unknown } | null)?.type)}`, -1, null);
  }
  return permissionOn(new Draft(state), { ...(isPlainObject(op.data) ? op.data : {}), type: op.type }, userId);
}

/** What permissionOn reads of an op: its type and, for OBJECT_CREATE/OBJECT_MODIFY, id, kind and props. */
interface PermissionQuery {
  type: BoardOpType;
  id?: unknown;
  kind?: unknown;
  props?: unknown;
}

/**
 * PERMISSIONS, except that a drawing op (canDraw) that puts an image on the board or points
 * one at another URL is an image upload whatever its type (BOARD_OPS.md: IMAGE_UPLOAD needs
 * canUploadImages): OBJECT_CREATE of kind "image", OBJECT_MODIFY of an image's URL props or
 * re-creating a deleted image, and the undo/redo of such a change.
 */
function permissionOn(draft: Draft, op: PermissionQuery, userId: string): BoardPermission | null {
  switch (op.type) {
    case "UNDO":
    case "REDO": {
      const entry = op.type === "UNDO" ? nextUndo(draft, userId) : nextRedo(draft, userId);
      if (!entry) return null;
      const permission = PERMISSIONS[entry.type];
      return permission === "canDraw" && changesImages(draft, entry.patch) ? "canUploadImages" : permission;
    }
    case "OBJECT_CREATE":
      return op.kind === IMAGE_KIND ? "canUploadImages" : "canDraw";
    case "OBJECT_MODIFY": {
      const id = typeof op.id === "string" ? op.id : "";
      const current = draft.get("objects", id);
      const image = current
        ? current.kind === IMAGE_KIND && isPlainObject(op.props) && IMAGE_URL_PROPS.some((key) => Object.hasOwn(op.props as object, key))
        : draft.get("deletedObjects", id)?.kind === IMAGE_KIND; // CLIENT_WINS may re-create it
      return image ? "canUploadImages" : "canDraw";
    }
    default:
      return PERMISSIONS[op.type];
  }
}

/** Whether applying `patch` adds, removes or re-points an image (not just moves or restyles one). */
function changesImages(draft: Draft, patch: BoardPatch): boolean {
  const urls = (object: BoardObject | null | undefined) =>
    object?.kind === IMAGE_KIND ? JSON.stringify(IMAGE_URL_PROPS.map((key) => getOwn(object.props, key))) : null;
  return sortedKeys(patch.objects).some((id) => urls(getOwn(patch.objects, id)) !== urls(draft.get("objects", id)));
}

/** The client-facing board (BoardState without meta); objects keyed in sorted order. */
export function publicBoard(state: BoardState): PublicBoard {
  const objects = publicObjects(state.objects);
  return { version: state.version, layers: publicLayers(state), objects, objectCount: Object.keys(objects).length };
}

/** A board's layers as clients see them, in drawing order. */
export function publicLayers(state: BoardState): PublicBoard["layers"] {
  return state.layers.map((layer) => ({ id: layer.id, name: layer.name }));
}

/** A board's objects keyed in sorted order: all of them, or those of `ids` that exist. */
export function publicObjects(objects: Readonly<Record<string, BoardObject>>, ids?: readonly string[]): Record<string, BoardObject> {
  const picked: Record<string, BoardObject> = {};
  const keys = ids ? [...new Set(ids)].filter((id) => getOwn(objects, id) !== undefined).sort() : sortedKeys(objects);
  for (const id of keys) setOwn(picked, id, getOwn(objects, id) as BoardObject);
  return picked;
}

/**
 * Checks a board's content as RESTORE takes it (`{ layers, objects }`, e.g. an exported board
 * or a client's solo snapshot) and answers a clean copy; throws BoardValidationError.
 */
export function validateBoardContent(content: unknown): BoardContent {
  const fail = (reason: string): never => {
    throw new BoardValidationError(reason, -1, null);
  };
  if (!isPlainObject(content)) fail("a board must be an object with layers and objects");
  return parseBoardContent(content as Record<string, unknown>, fail);
}
