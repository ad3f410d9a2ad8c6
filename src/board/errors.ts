import type { BoardPermission } from "./types";

/**
 * Malformed input (BOARD_OPS.md: BAD_USER_INPUT). Thrown before anything of the batch is
 * applied. `index` is the op's position in the batch (-1 when the batch itself is wrong);
 * `clientOpId` is null when the op has none that could be read.
 */
export class BoardValidationError extends Error {
  constructor(
    readonly reason: string,
    readonly index: number,
    readonly clientOpId: string | null,
  ) {
    super(index < 0 ? reason : `Board operation ${index}${clientOpId === null ? "" : ` (${clientOpId})`}: ${reason}`);
    this.name = "BoardValidationError";
  }
}

/** An op whose permission the acting user lacks (ApplyOptions.can): FORBIDDEN, nothing applied. */
export class BoardPermissionError extends Error {
  constructor(
    readonly permission: BoardPermission,
    readonly index: number,
    readonly clientOpId: string,
  ) {
    super(`Board operation ${index} (${clientOpId}) needs ${permission}.`);
    this.name = "BoardPermissionError";
  }
}

/** A recorded op that does not fit the board it is replayed on: the timeline and the board disagree. */
export class BoardReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BoardReplayError";
  }
}
