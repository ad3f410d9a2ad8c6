import { getOwn, sortedKeys, type Draft } from "./draft";
import { BoardReplayError } from "./errors";
import { clearAllHistory, moveToRedo, moveToUndo, nextRedo, nextUndo, recordOp } from "./history";
import { applyPatch, patchOf } from "./patch";
import type { AppliedBoardOp, BoardObject, BoardPatch, HistoryEntry, Layer, LayerSlot, UndoableOpType } from "./types";

/**
 * Executes a recorded op on a draft: the one code path shared by live apply (after
 * validation and conflict resolution) and replay, so both produce the same board, meta
 * included. It trusts `op.data` (the engine wrote it) and throws BoardReplayError only where
 * the data cannot fit the board.
 *
 * The recorded `data` per type (what applyOps resolves and clients receive):
 * - STROKE, IMAGE_UPLOAD: `{ id, layerId, …props }`: props are everything but id and layerId.
 * - OBJECT_CREATE: `{ id, kind, layerId, props }` (unknown fields already merged into props).
 *   A create of an id that exists replaces the object (CLIENT_WINS, or the same user's own).
 * - OBJECT_MODIFY: `{ id, props, create? }`; TEXT_EDIT: `{ id, text, create? }`. `create` is
 *   `{ kind, layerId, props }` when the object is absent and the op (re)creates it.
 * - OBJECT_DELETE, LAYER_DELETE: `{ id }` (a layer's objects go with it).
 * - LAYER_ADD: `{ id, name, index }`: inserted at index, or renamed if the id exists.
 * - LAYER_REORDER: `{ order }`: the complete resulting order.
 * - CLEAR: `{}` or `{ keep: [ids] }` (objects SERVER_WINS kept).
 * - UNDO, REDO: `{ target: { clientOpId, type }, patch }`: the op undone/redone and the
 *   patch applied (see BoardPatch; a layer set to null takes its objects with it).
 * - RESTORE: `{ layers, objects }`.
 */
export function execute(draft: Draft, op: AppliedBoardOp): void {
  const { type, userId, version, data } = op;
  switch (type) {
    case "UNDO":
    case "REDO": {
      const entry = type === "UNDO" ? nextUndo(draft, userId) : nextRedo(draft, userId);
      const target = data.target as { clientOpId?: unknown } | undefined;
      if (!entry || entry.clientOpId !== target?.clientOpId) {
        throw new BoardReplayError(`${type} ${op.clientOpId} at version ${version}: ${userId}'s history does not match the recorded target`);
      }
      const reverse: HistoryEntry = { clientOpId: entry.clientOpId, type: entry.type, patch: applyPatch(draft, entry.patch, userId, version) };
      if (type === "UNDO") moveToRedo(draft, userId, reverse);
      else moveToUndo(draft, userId, reverse);
      break;
    }
    case "RESTORE":
      applyPatch(draft, restorePatch(draft, data, userId, version), userId, version);
      clearAllHistory(draft);
      break;
    default: {
      const inverse = applyPatch(draft, forwardPatch(draft, op), userId, version);
      recordOp(draft, userId, { clientOpId: op.clientOpId, type: type as UndoableOpType, patch: inverse });
    }
  }
  draft.version = version;
}

/** The recorded data of an UNDO or REDO about to revert/re-apply `entry`. */
export function historyData(entry: HistoryEntry): Record<string, unknown> {
  return { target: { clientOpId: entry.clientOpId, type: entry.type }, patch: entry.patch };
}

function forwardPatch(draft: Draft, op: AppliedBoardOp): BoardPatch {
  const { type, userId, version, data } = op;
  const id = data.id as string;
  const create = (kind: string, layerId: string, props: Record<string, unknown>): BoardPatch =>
    patchOf([[id, { id, kind, layerId, props, createdBy: userId, version, z: version }]]);
  switch (type) {
    case "STROKE":
    case "IMAGE_UPLOAD": {
      const { id: _id, layerId, ...props } = data;
      return create(type === "STROKE" ? "stroke" : "image", layerId as string, props);
    }
    case "OBJECT_CREATE":
      return create(data.kind as string, data.layerId as string, data.props as Record<string, unknown>);
    case "OBJECT_MODIFY":
    case "TEXT_EDIT": {
      const current = draft.get("objects", id);
      const recreate = data.create as { kind: string; layerId: string; props: Record<string, unknown> } | undefined;
      if (recreate) {
        if (current) throw new BoardReplayError(`${type} ${op.clientOpId}: ${id} should be absent`);
        return create(recreate.kind, recreate.layerId, recreate.props);
      }
      if (!current) throw new BoardReplayError(`${type} ${op.clientOpId}: no object ${id}`);
      const change = type === "TEXT_EDIT" ? { text: data.text } : (data.props as Record<string, unknown>);
      const changed: BoardObject = { ...current, props: { ...current.props, ...change } };
      return patchOf([[id, changed]]);
    }
    case "OBJECT_DELETE":
      return patchOf([[id, null]]);
    case "LAYER_ADD":
      return patchOf([], [[id, { layer: { id, name: data.name as string }, index: data.index as number }]]);
    case "LAYER_DELETE":
      return patchOf([], [[id, null]]);
    case "LAYER_REORDER":
      return patchOf([], [], data.order as string[]);
    case "CLEAR": {
      const keep = new Set((data.keep as string[] | undefined) ?? []);
      return patchOf(
        sortedKeys(draft.view("objects"))
          .filter((objectId) => !keep.has(objectId))
          .map((objectId) => [objectId, null]),
      );
    }
    default:
      throw new BoardReplayError(`${type} ${op.clientOpId}: not a forward op`);
  }
}

/** RESTORE: every current layer and object the content does not have goes; the rest is set. */
function restorePatch(draft: Draft, data: Record<string, unknown>, userId: string, version: number): BoardPatch {
  const layers = data.layers as Layer[];
  const objects = data.objects as Record<string, Omit<BoardObject, "version" | "z"> & { z?: number }>;
  const keptLayers = new Set(layers.map((layer) => layer.id));
  const layerSlots: Array<[string, LayerSlot | null]> = [
    ...draft.layers.filter((layer) => !keptLayers.has(layer.id)).map((layer): [string, null] => [layer.id, null]),
    ...layers.map((layer, index): [string, LayerSlot] => [layer.id, { layer: { id: layer.id, name: layer.name }, index }]),
  ];
  const restored = sortedKeys(objects).map((id): [string, BoardObject] => {
    const { kind, layerId, props, createdBy, z } = getOwn(objects, id)!;
    return [id, { id, kind, layerId, props, createdBy: createdBy ?? userId, version, z: z ?? version }];
  });
  const removed = sortedKeys(draft.view("objects"))
    .filter((id) => !Object.hasOwn(objects, id))
    .map((id): [string, null] => [id, null]);
  return patchOf(
    [...removed, ...restored],
    layerSlots,
    layers.map((layer) => layer.id),
  );
}
