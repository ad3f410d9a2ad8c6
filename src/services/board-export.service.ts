import { randomUUID } from "node:crypto";
import type { AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { publicBoard, type BoardContent, type BoardOpInput, type BoardState, type ConflictStrategy, type PublicBoard } from "../board";
import type { ApplyBoardResult, BoardService } from "./board.service";
import { notFound } from "../domain/errors";
import { parseContent, type SnapshotService } from "./snapshot.service";
import { authorize, requireExport, type SessionAccess } from "../auth/session-policy";

/** ImportMode of the contract. */
export type ImportMode = "REPLACE" | "MERGE_KEEP_SERVER" | "MERGE_KEEP_CLIENT";

/** An exported board: BoardState JSON (what importBoard takes back) and a file name for it. */
export interface BoardExport {
  filename: string;
  board: PublicBoard & { lastSeq: number };
}

/**
 * Export of the current board or of a snapshot (JSON that importBoard takes back), and import
 * of such a board as board events through the board write path: REPLACE is one RESTORE,
 * merges add layers and objects (LAYER_ADD, OBJECT_CREATE) and settle id clashes with the
 * SERVER_WINS or CLIENT_WINS strategy, conflicts reported like any board write.
 */
export class BoardExportService {
  constructor(
    private readonly access: AccessPolicy,
    private readonly board: BoardService,
    private readonly snapshots: SnapshotService,
  ) {}

  /** The current board (readers with canExport). */
  async exportBoard(auth: AuthContext, sessionId: string): Promise<BoardExport> {
    const access = await this.requireExport(auth, sessionId);
    const { board, lastSeq } = await this.board.read(access.session);
    return { filename: `board-${sessionId}-v${board.version}.json`, board: { ...board, lastSeq } };
  }

  /** Snapshot `version`'s board (readers with canExport); NOT_FOUND when there is no such snapshot. */
  async exportSnapshot(auth: AuthContext, sessionId: string, version: number): Promise<BoardExport> {
    await this.requireExport(auth, sessionId);
    const stored = await this.snapshots.boardOf(sessionId, version);
    if (!stored) throw notFound("Snapshot");
    return { filename: `board-${sessionId}-snapshot-${version}.json`, board: { ...publicBoard(stored.state), lastSeq: stored.seq } };
  }

  /** importBoard: host or canClearBoard, ACTIVE sessions, the board checked by the engine first. */
  async importBoard(auth: AuthContext, sessionId: string, board: unknown, mode: ImportMode): Promise<ApplyBoardResult> {
    const actorId = auth.requireUserIdFor(sessionId);
    const content = parseContent(board);
    const mayImport = (access: SessionAccess) => authorize(access, "importBoard");
    const batch = `import:${randomUUID()}`;
    const strategy: ConflictStrategy = mode === "MERGE_KEEP_CLIENT" ? "CLIENT_WINS" : "SERVER_WINS";
    const ops =
      mode === "REPLACE"
        ? [{ clientOpId: `${batch}:0`, type: "RESTORE" as const, baseVersion: 0, data: content }]
        : (current: BoardState) => mergeOps(current, content, mode === "MERGE_KEEP_CLIENT", batch);
    return this.board.write(actorId, sessionId, ops, strategy, { authorize: mayImport });
  }

  private async requireExport(auth: AuthContext, sessionId: string): Promise<SessionAccess> {
    const access = await this.access.require(auth.requireUserIdFor(sessionId), sessionId);
    requireExport(access);
    return access;
  }
}

/**
 * The ops that merge `content` into `current`: absent layers added (and, when the import
 * wins, present ones renamed), then objects in their drawing order; clashing ids are left to
 * the strategy (SERVER_WINS skips them, CLIENT_WINS replaces them) or, when the board keeps
 * its own, not sent at all (a user's own object would otherwise be replaced).
 */
function mergeOps(current: BoardState, content: BoardContent, importWins: boolean, batch: string): BoardOpInput[] {
  const ops: BoardOpInput[] = [];
  const op = (type: BoardOpInput["type"], data: Record<string, unknown>) =>
    ops.push({ clientOpId: `${batch}:${ops.length}`, type, baseVersion: current.version, data });
  const layers = new Map(current.layers.map((layer) => [layer.id, layer.name]));
  for (const layer of content.layers) {
    const name = layers.get(layer.id);
    if (name === undefined || (importWins && name !== layer.name)) op("LAYER_ADD", { id: layer.id, name: layer.name });
  }
  const objects = Object.values(content.objects).sort((a, b) => (a.z ?? 0) - (b.z ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const object of objects) {
    if (!importWins && Object.hasOwn(current.objects, object.id)) continue;
    op("OBJECT_CREATE", { id: object.id, kind: object.kind, layerId: object.layerId, props: object.props });
  }
  return ops;
}
