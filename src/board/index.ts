/**
 * The board engine: pure and deterministic (no I/O, no clock, no randomness). Live apply,
 * replay and offline sync all use it, so the board at any point is the same whichever way it
 * is computed. The spec is ../shared/api/BOARD_OPS.md.
 */
export * from "./types";
export { BoardPermissionError, BoardReplayError, BoardValidationError } from "./errors";
export { applyOps, emptyBoard, publicBoard, replayOp, replayOps, requiredPermission, validateBoardContent } from "./engine";
export { BOARD_LIMITS, type BoardContent } from "./validate";
export { renderSvg } from "./render-svg";
