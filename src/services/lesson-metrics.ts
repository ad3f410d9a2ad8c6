import type { Metrics } from "../infra/metrics";
import type { ApplyBoardResult } from "./board.service";
import type { SessionStore } from "./session-store";

/**
 * Counts what each commit on this instance recorded: board events (board_operations_total
 * "applied" and board_operations_per_second) and seats taken (webrtc_participants_total).
 * Commits are the truth of "applied", whichever path wrote them (a client's batch, a restore,
 * an import). Answers the function that stops counting.
 */
export function countCommits(store: Pick<SessionStore, "onCommit">, metrics: Pick<Metrics, "boardOpsApplied" | "webrtcParticipants">): () => void {
  return store.onCommit((_sessionId, events) => {
    let boardOps = 0;
    let joins = 0;
    for (const event of events) {
      if (event.boardVersion !== null) boardOps += 1;
      else if (event.type === "PARTICIPANT_JOIN") joins += 1;
    }
    if (boardOps > 0) metrics.boardOpsApplied(boardOps);
    if (joins > 0) metrics.webrtcParticipants.inc(joins);
  });
}

/**
 * A client's applyBoardEvents batch of `size` ops, counted as it ends: its ops reported as
 * conflicts (board_operations_total "conflict"), or all of them "rejected" when it fails.
 * Answers `applying`'s result or error unchanged.
 */
export async function countBoardBatch(
  metrics: Pick<Metrics, "boardOps" | "enabled">,
  size: number,
  applying: Promise<ApplyBoardResult>,
): Promise<ApplyBoardResult> {
  if (!metrics.enabled) return applying;
  let result: ApplyBoardResult;
  try {
    result = await applying;
  } catch (err) {
    metrics.boardOps.rejected.inc(size);
    throw err;
  }
  // An op can conflict on several objects: counted once.
  if (result.conflicts.length > 0) metrics.boardOps.conflict.inc(new Set(result.conflicts.map((c) => c.clientOpId)).size);
  return result;
}
