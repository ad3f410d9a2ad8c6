import { sortedKeys, type Draft } from "./draft";
import { historyData } from "./effects";
import { nextRedo, nextUndo } from "./history";
import { mergeLayerOrder } from "./patch";
import type { BoardConflict, ChangeMark, ConflictReason, ConflictResolution, ConflictStrategy, SkipReason } from "./types";
import { BOARD_LIMITS, IMAGE_KIND, checkImageProps, propsOf, type Fail, type ParsedOp } from "./validate";

/** What to do with one valid op: the data to record (null = skip it) and its conflicts. */
export interface Resolution {
  data: Record<string, unknown> | null;
  conflicts: BoardConflict[];
  skipped?: SkipReason;
}

/** BOARD_OPS.md "Conflicts": what each strategy does with each kind of conflict. */
const OUTCOME: Record<ConflictStrategy, Record<"changed" | "deleted" | "exists", ConflictResolution>> = {
  LAST_WRITE_WINS: { changed: "APPLIED", deleted: "SKIPPED", exists: "SKIPPED" },
  SERVER_WINS: { changed: "SKIPPED", deleted: "SKIPPED", exists: "SKIPPED" },
  CLIENT_WINS: { changed: "APPLIED", deleted: "RECREATED", exists: "APPLIED" },
};
const ROW: Record<ConflictReason, "changed" | "deleted" | "exists"> = {
  OBJECT_CHANGED: "changed",
  LAYER_CHANGED: "changed",
  OBJECT_DELETED: "deleted",
  LAYER_DELETED: "deleted",
  OBJECT_EXISTS: "exists",
};

/**
 * Decides conflicts for one op that passed the stateless checks, against the board as it is
 * when the op is reached (earlier ops of the batch applied), and checks what depends on that
 * board (layers and objects named, baseVersion, the last layer). An op conflicts with a change
 * another user made after its baseVersion (or with an existing id it creates); the same user's
 * changes never conflict. Only the last change of each object/layer is tracked, so an object
 * changed by someone else and then by the acting user does not conflict.
 */
export function resolve(draft: Draft, op: ParsedOp, userId: string, strategy: ConflictStrategy, fail: Fail): Resolution {
  if (op.baseVersion > draft.version) fail(`baseVersion ${op.baseVersion} is ahead of the board (version ${draft.version})`);
  const conflicts: BoardConflict[] = [];
  /** Records a conflict; answers whether the op still goes ahead. */
  const conflict = (reason: ConflictReason, objectId: string | null, at: ChangeMark, resolution = OUTCOME[strategy][ROW[reason]]) => {
    conflicts.push({ clientOpId: op.clientOpId, objectId, reason, resolution, currentVersion: at.version });
    return resolution !== "SKIPPED";
  };
  const skip = (): Resolution => ({ data: null, conflicts, skipped: "CONFLICT" });
  const accept = (data: Record<string, unknown>): Resolution => ({ data, conflicts });
  const byOther = (mark: ChangeMark | null | undefined): mark is ChangeMark => mark != null && mark.by !== userId && mark.version > op.baseVersion;

  /**
   * The layer a new object goes on. A layer another user deleted since baseVersion is a
   * LAYER_DELETED conflict; CLIENT_WINS puts the object on the default layer (APPLIED) rather
   * than re-creating the layer, which would need canAddLayers. Null = skip the op.
   */
  const layerFor = (objectId: string, layerId: string | undefined): string | null => {
    if (layerId === undefined) return draft.defaultLayerId();
    if (draft.layerIndex(layerId) >= 0) return layerId;
    const tombstone = draft.get("deletedLayers", layerId);
    if (!byOther(tombstone)) fail(`unknown layer ${layerId}`);
    const resolution = strategy === "CLIENT_WINS" ? "APPLIED" : "SKIPPED";
    return conflict("LAYER_DELETED", objectId, tombstone, resolution) ? draft.defaultLayerId() : null;
  };
  /**
   * An object an op changes or deletes. Absent and not deleted by someone else since
   * baseVersion (never existed, deleted by the user, or deleted before what the client saw)
   * is invalid input: the client's board cannot have had it.
   */
  const deletedSince = (id: string) => {
    const tombstone = draft.get("deletedObjects", id);
    return byOther(tombstone) ? tombstone : undefined;
  };

  switch (op.type) {
    case "STROKE":
    case "OBJECT_CREATE":
    case "IMAGE_UPLOAD": {
      const layerId = layerFor(op.id, op.layerId);
      if (layerId === null) return skip();
      const existing = draft.get("objects", op.id);
      // Creating an existing id conflicts whatever baseVersion says, unless the user made the
      // last change to it; then (as under CLIENT_WINS) the create replaces it.
      const mark = draft.get("objectChanges", op.id);
      if (existing && mark && mark.by !== userId && !conflict("OBJECT_EXISTS", op.id, mark)) return skip();
      if (op.type === "OBJECT_CREATE") return accept({ id: op.id, kind: op.kind, layerId, props: op.props });
      return accept({ id: op.id, layerId, ...op.props });
    }
    case "OBJECT_MODIFY":
    case "TEXT_EDIT": {
      const current = draft.get("objects", op.id);
      if (current) {
        if (op.type === "TEXT_EDIT" && current.kind !== "text") fail(`${op.id} is a ${current.kind}, not a text`);
        // Malformed whatever the conflict outcome: an image's URL props are checked up front.
        if (op.type === "OBJECT_MODIFY" && current.kind === IMAGE_KIND) checkImageProps(op.props, fail);
        const mark = draft.get("objectChanges", op.id);
        if (byOther(mark) && !conflict("OBJECT_CHANGED", op.id, mark)) return skip();
        // The merged props must still be within bounds (props can only grow by modifications).
        if (op.type === "TEXT_EDIT") {
          propsOf({ ...current.props, text: op.text }, fail);
          return accept({ id: op.id, text: op.text });
        }
        propsOf({ ...current.props, ...op.props }, fail);
        return accept({ id: op.id, props: op.props });
      }
      const tombstone = deletedSince(op.id);
      if (tombstone) {
        // CLIENT_WINS re-creates it with the op's props, on its old layer if that still exists.
        if (op.type === "OBJECT_MODIFY" && tombstone.kind === IMAGE_KIND) checkImageProps(op.props, fail);
        if (!conflict("OBJECT_DELETED", op.id, tombstone)) return skip();
        const layerId = draft.layerIndex(tombstone.layerId) >= 0 ? tombstone.layerId : draft.defaultLayerId();
        if (op.type === "OBJECT_MODIFY") return accept({ id: op.id, props: op.props, create: { kind: tombstone.kind, layerId, props: op.props } });
        return accept({ id: op.id, text: op.text, create: { kind: "text", layerId, props: op.props } });
      }
      if (op.type === "OBJECT_MODIFY") fail(`unknown object ${op.id}`);
      // BOARD_OPS.md: TEXT_EDIT creates an absent text; its unknown fields (x, y …) become props.
      const layerId = layerFor(op.id, op.layerId);
      if (layerId === null) return skip();
      return accept({ id: op.id, text: op.text, create: { kind: "text", layerId, props: op.props } });
    }
    case "OBJECT_DELETE": {
      if (draft.get("objects", op.id)) {
        const mark = draft.get("objectChanges", op.id);
        if (byOther(mark) && !conflict("OBJECT_CHANGED", op.id, mark)) return skip();
        return accept({ id: op.id });
      }
      // Deleting what someone else deleted since: reported, and skipped under every strategy
      // (CLIENT_WINS too: the client wanted it gone and it is gone; there is nothing to re-create).
      const tombstone = deletedSince(op.id);
      if (!tombstone) fail(`unknown object ${op.id}`);
      conflict("OBJECT_DELETED", op.id, tombstone, "SKIPPED");
      return skip();
    }
    case "LAYER_ADD": {
      if (draft.layerIndex(op.id) >= 0) {
        // An existing id: OBJECT_EXISTS (the contract has no LAYER_EXISTS); applied = renamed,
        // the layer keeping its place and objects. The user's own layer is renamed silently.
        const mark = draft.get("layerChanges", op.id);
        if (mark && mark.by !== userId && !conflict("OBJECT_EXISTS", op.id, mark)) return skip();
      } else if (draft.layers.length >= BOARD_LIMITS.maxLayers) fail(`a board has at most ${BOARD_LIMITS.maxLayers} layers`);
      // An index past the top means the top: the client's count of layers may be stale.
      return accept({ id: op.id, name: op.name, index: Math.min(op.index ?? draft.layers.length, draft.layers.length) });
    }
    case "LAYER_DELETE": {
      if (draft.layerIndex(op.id) >= 0) {
        if (draft.layers.length === 1) fail("the last layer cannot be removed");
        // A layer counts as changed when it or any object on it changed.
        const mark = draft.get("layerChanges", op.id);
        if (byOther(mark) && !conflict("LAYER_CHANGED", op.id, mark)) return skip();
        return accept({ id: op.id });
      }
      const tombstone = draft.get("deletedLayers", op.id);
      if (!byOther(tombstone)) fail(`unknown layer ${op.id}`);
      conflict("LAYER_DELETED", op.id, tombstone, "SKIPPED");
      return skip();
    }
    case "LAYER_REORDER": {
      const current = draft.layers.map((layer) => layer.id);
      const permutation = op.order.length === current.length && op.order.every((id) => draft.layerIndex(id) >= 0);
      const mark = draft.layerOrderChange;
      if (!byOther(mark)) {
        if (!permutation) fail("order must name every layer exactly once");
        return accept({ order: op.order });
      }
      // Someone else changed the layers since: the order may name layers deleted since and
      // miss layers added since; it is merged (mergeLayerOrder) rather than refused.
      for (const id of op.order) {
        if (draft.layerIndex(id) < 0 && !draft.get("deletedLayers", id)) fail(`unknown layer ${id}`);
      }
      if (!conflict("LAYER_CHANGED", null, mark)) return skip();
      return accept({ order: mergeLayerOrder(draft.layers, op.order).map((layer) => layer.id) });
    }
    case "CLEAR": {
      // One conflict per object another user changed since; SERVER_WINS keeps those objects
      // and clears the rest. The CLEAR itself is always accepted.
      const keep: string[] = [];
      for (const id of sortedKeys(draft.view("objects"))) {
        const mark = draft.get("objectChanges", id);
        if (byOther(mark) && !conflict("OBJECT_CHANGED", id, mark)) keep.push(id);
      }
      return accept(keep.length > 0 ? { keep } : {});
    }
    case "UNDO":
    case "REDO": {
      // Undo/redo set what the op touched back to the recorded values, whoever changed them
      // since (last writer wins, no conflict): see applyPatch.
      const entry = op.type === "UNDO" ? nextUndo(draft, userId) : nextRedo(draft, userId);
      if (!entry) return { data: null, conflicts, skipped: op.type === "UNDO" ? "NOTHING_TO_UNDO" : "NOTHING_TO_REDO" };
      return accept(historyData(entry));
    }
    case "RESTORE":
      return accept({ layers: op.content.layers, objects: op.content.objects });
  }
}
