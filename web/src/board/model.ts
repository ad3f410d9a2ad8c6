/**
 * The board as clients hold it (BOARD_OPS.md): layers bottom first, objects by id. Events
 * are applied from their recorded `data` (src/board/effects.ts documents it per type), so
 * UNDO and REDO apply the patch the server sends and no client needs anyone's history.
 */
export interface Layer {
  id: string;
  name: string;
}

export interface BoardObject {
  id: string;
  kind: string;
  layerId: string;
  props: Record<string, unknown>;
  z?: number;
  version?: number;
}

export interface Board {
  version: number;
  lastSeq: number;
  layers: Layer[];
  objects: Record<string, BoardObject>;
}

export interface BoardEventLike {
  type: string;
  data: unknown;
  seq: number;
  version?: number;
}

interface LayerSlot {
  layer: Layer;
  index: number;
}
interface Patch {
  objects?: Record<string, BoardObject | null>;
  layers?: Record<string, LayerSlot | null>;
  order?: string[];
}

export function emptyBoard(): Board {
  return { version: 0, lastSeq: 0, layers: [{ id: "default", name: "Layer 1" }], objects: {} };
}

/** A board read from the API (BoardState: layers and objects as JSON). */
export function boardFromState(state: { version: number; lastSeq: number; layers: unknown; objects: unknown }): Board {
  return {
    version: state.version,
    lastSeq: state.lastSeq,
    layers: structuredClone(state.layers as Layer[]),
    objects: structuredClone(state.objects as Record<string, BoardObject>),
  };
}

/** Applies one recorded board event in place (its version becomes the board's when it has one). */
export function applyEvent(board: Board, event: BoardEventLike): void {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const type = event.type.replace(/^BOARD_/, "");
  const id = data.id as string;
  const create = (kind: string, layerId: string, props: Record<string, unknown>) => {
    board.objects[id] = { id, kind, layerId, props, z: event.version ?? event.seq };
  };
  switch (type) {
    case "STROKE":
    case "IMAGE_UPLOAD": {
      const { id: _id, layerId, ...props } = data;
      create(type === "STROKE" ? "stroke" : "image", (layerId as string) ?? defaultLayer(board), props);
      break;
    }
    case "OBJECT_CREATE":
      create(data.kind as string, (data.layerId as string) ?? defaultLayer(board), (data.props as Record<string, unknown>) ?? {});
      break;
    case "OBJECT_MODIFY":
    case "TEXT_EDIT": {
      const recreate = data.create as { kind: string; layerId: string; props: Record<string, unknown> } | undefined;
      if (recreate) create(recreate.kind, recreate.layerId, recreate.props);
      else if (board.objects[id]) {
        const change = type === "TEXT_EDIT" ? { text: data.text } : (data.props as Record<string, unknown>);
        board.objects[id] = { ...board.objects[id], props: { ...board.objects[id].props, ...change } };
      }
      break;
    }
    case "OBJECT_DELETE":
      delete board.objects[id];
      break;
    case "LAYER_ADD":
      applyPatch(board, { layers: { [id]: { layer: { id, name: data.name as string }, index: (data.index as number) ?? board.layers.length } } });
      break;
    case "LAYER_DELETE":
      applyPatch(board, { layers: { [id]: null } });
      break;
    case "LAYER_REORDER":
      applyPatch(board, { order: data.order as string[] });
      break;
    case "CLEAR": {
      const keep = new Set((data.keep as string[] | undefined) ?? []);
      for (const objectId of Object.keys(board.objects)) if (!keep.has(objectId)) delete board.objects[objectId];
      break;
    }
    case "UNDO":
    case "REDO":
      applyPatch(board, data.patch as Patch);
      break;
    case "RESTORE": {
      board.layers = structuredClone(data.layers as Layer[]);
      board.objects = structuredClone(data.objects as Record<string, BoardObject>);
      break;
    }
  }
  if (event.version !== undefined) board.version = event.version;
  board.lastSeq = Math.max(board.lastSeq, event.seq);
}

function defaultLayer(board: Board): string {
  return board.layers.some((layer) => layer.id === "default") ? "default" : board.layers[board.layers.length - 1].id;
}

/** A server patch (src/board/patch.ts): layers removed, renamed, inserted, reordered; objects set or removed. */
function applyPatch(board: Board, patch: Patch): void {
  const layers = patch.layers ?? {};
  let next = board.layers.filter((layer) => layers[layer.id] !== null || board.layers.length === 1);
  const removed = new Set(board.layers.filter((layer) => !next.includes(layer)).map((layer) => layer.id));
  next = next.map((layer) => (layers[layer.id] ? { id: layer.id, name: layers[layer.id]!.layer.name } : layer));
  const inserts = Object.values(layers)
    .filter((slot): slot is LayerSlot => !!slot && !next.some((layer) => layer.id === slot.layer.id))
    .sort((a, b) => a.index - b.index);
  for (const slot of inserts) next.splice(Math.min(slot.index, next.length), 0, { id: slot.layer.id, name: slot.layer.name });
  if (patch.order) {
    const byId = new Map(next.map((layer) => [layer.id, layer]));
    const named = [...new Set(patch.order)].filter((id) => byId.has(id));
    const namedSet = new Set(named);
    let i = 0;
    next = next.map((layer) => (namedSet.has(layer.id) ? byId.get(named[i++])! : layer));
  }
  board.layers = next;
  for (const [objectId, object] of Object.entries(board.objects)) if (removed.has(object.layerId)) delete board.objects[objectId];
  const live = new Set(next.map((layer) => layer.id));
  for (const [objectId, target] of Object.entries(patch.objects ?? {})) {
    if (target && live.has(target.layerId))
      board.objects[objectId] = { id: objectId, kind: target.kind, layerId: target.layerId, props: target.props, z: target.z };
    else if (!target) delete board.objects[objectId];
  }
}

/** `value` with every object's keys sorted: JSON read back from Postgres (jsonb) comes in another key order. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * What two boards are compared by (tests, replay checks): layers and each object's kind,
 * layer and props (keys sorted), ids sorted; bookkeeping (versions, z, createdBy) left out.
 */
export function boardContent(board: Pick<Board, "layers" | "objects">): {
  layers: Layer[];
  objects: Record<string, Pick<BoardObject, "kind" | "layerId" | "props">>;
} {
  const objects: Record<string, Pick<BoardObject, "kind" | "layerId" | "props">> = {};
  for (const id of Object.keys(board.objects).sort()) {
    const { kind, layerId, props } = board.objects[id];
    objects[id] = { kind, layerId, props: canonical(props) as Record<string, unknown> };
  }
  return { layers: board.layers.map(({ id, name }) => ({ id, name })), objects };
}
