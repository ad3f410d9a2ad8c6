import type { Draft } from "./draft";
import type { HistoryEntry, UserHistory } from "./types";
import { BOARD_LIMITS } from "./validate";

/**
 * Per-user undo/redo stacks, kept in the board's meta so that live apply and replay see the
 * same history. Stacks are replaced, never mutated (the input state shares them).
 */

const EMPTY: UserHistory = { undo: [], redo: [] };

function historyOf(draft: Draft, userId: string): UserHistory {
  return draft.get("history", userId) ?? EMPTY;
}

function store(draft: Draft, userId: string, history: UserHistory): void {
  draft.set("history", userId, history.undo.length === 0 && history.redo.length === 0 ? undefined : history);
}

/** The entry UNDO would revert for `userId`, if any. */
export function nextUndo(draft: Draft, userId: string): HistoryEntry | undefined {
  const { undo } = historyOf(draft, userId);
  return undo[undo.length - 1];
}

/** The entry REDO would re-apply for `userId`, if any. */
export function nextRedo(draft: Draft, userId: string): HistoryEntry | undefined {
  const { redo } = historyOf(draft, userId);
  return redo[redo.length - 1];
}

/** A new op by the user: its inverse goes on the undo stack (oldest dropped) and redo is cleared. */
export function recordOp(draft: Draft, userId: string, entry: HistoryEntry): void {
  const { undo } = historyOf(draft, userId);
  store(draft, userId, { undo: [...undo, entry].slice(-BOARD_LIMITS.maxHistory), redo: [] });
}

/** UNDO: the top undo entry leaves; `redoEntry` (what reverts the undo) goes on the redo stack. */
export function moveToRedo(draft: Draft, userId: string, redoEntry: HistoryEntry): void {
  const { undo, redo } = historyOf(draft, userId);
  store(draft, userId, { undo: undo.slice(0, -1), redo: [...redo, redoEntry] });
}

/** REDO: the top redo entry leaves; `undoEntry` goes back on the undo stack. */
export function moveToUndo(draft: Draft, userId: string, undoEntry: HistoryEntry): void {
  const { undo, redo } = historyOf(draft, userId);
  store(draft, userId, { undo: [...undo, undoEntry].slice(-BOARD_LIMITS.maxHistory), redo: redo.slice(0, -1) });
}

/** RESTORE: a restored board is a new baseline; undoing across it would mix two boards. */
export function clearAllHistory(draft: Draft): void {
  draft.replace("history", {});
}
