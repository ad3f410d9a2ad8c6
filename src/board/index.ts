/**
 * The board engine: pure and deterministic (no I/O, no clock, no randomness). Live apply,
 * replay and offline sync all use it, so the board at any point is the same whichever way it
 * is computed. The spec is ../shared/api/BOARD_OPS.md; where it is silent this engine decides
 * (each decision is explained where it is made):
 *
 * - Conflicts (conflicts.ts): only each object's/layer's last change is tracked. A layer
 *   counts as changed when it or an object on it changes. Modify/delete/text-edit of an
 *   object that is absent without a conflict to explain it (never existed, deleted by the same
 *   user, or deleted at or before baseVersion) is invalid input. Creating an existing id
 *   conflicts (OBJECT_EXISTS) unless the user made its last change (then it replaces). Deleting
 *   what another user deleted since is SKIPPED under every strategy. Drawing on a layer deleted
 *   since: SKIPPED, or on the default layer under CLIENT_WINS (re-creating the layer would need
 *   canAddLayers). LAYER_ADD of an existing id: OBJECT_EXISTS, applied = renamed in place. A
 *   stale LAYER_REORDER is LAYER_CHANGED and merged with the layers changed since. CLEAR: one
 *   conflict per object changed since; SERVER_WINS keeps those. RECREATED objects get the op's
 *   props on their old layer (or the default one).
 * - Undo/redo (history.ts, patch.ts): per user, last 100 entries; UNDO/REDO set what the op
 *   touched back to its recorded values whoever changed it since (last writer wins, no
 *   conflict), never remove the last layer, never re-create an object whose layer is gone.
 *   RESTORE is not undoable and clears every history.
 * - Limits (validate.ts BOARD_LIMITS); LAYER_ADD's index is clamped to the top; TEXT_EDIT
 *   that creates takes an optional layerId like the other creating ops; null optional fields
 *   mean absent. Images (validate.ts IMAGE_URL_PROPS): url, href and src must be http(s) or
 *   raster data:image URLs as a browser parses them, however the image is made or changed;
 *   a drawing op that adds or re-points an image needs canUploadImages (engine.ts permissionOn).
 * - Drawing order: BoardObject.z (the creating version), kept across undo and restore.
 */
export * from "./types";
export { BoardPermissionError, BoardReplayError, BoardValidationError } from "./errors";
export { applyOps, emptyBoard, publicBoard, publicLayers, publicObjects, replayOp, replayOps, requiredPermission, validateBoardContent } from "./engine";
export { BOARD_LIMITS, type BoardContent } from "./validate";
export { renderSvg } from "./render-svg";
export { boardBytes } from "./serialize";
