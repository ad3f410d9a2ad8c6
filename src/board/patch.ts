import { compareStrings, getOwn, setOwn, sortedKeys, type Draft } from "./draft";
import type { BoardObject, BoardPatch, ChangeMark, Layer, LayerSlot } from "./types";

/**
 * Every change to a board goes through applyPatch: ops are turned into a patch (effects.ts),
 * undo and redo apply the patches kept in the history. It keeps the invariants (at least one
 * layer; every object on an existing layer), writes the change marks and tombstones that
 * conflict detection reads, and answers the inverse patch: the previous values of exactly
 * what changed, nothing more, so that undoing one op never reverts someone else's change to
 * something the op did not touch.
 */
export function applyPatch(draft: Draft, patch: BoardPatch, by: string, version: number): BoardPatch {
  const mark: ChangeMark = { by, version };
  const inverse: BoardPatch = { objects: {}, layers: {} };
  const before = draft.layers;
  const position = new Map(before.map((layer, index) => [layer.id, index]));
  const layerIds = sortedKeys(patch.layers);

  // Layers: removals, renames, inserts (ascending index, so removed layers re-inserted by the
  // inverse land where they were), then the order.
  const inserts: LayerSlot[] = [];
  const renames = new Map<string, Layer>();
  const removals: string[] = [];
  for (const id of layerIds) {
    const slot = getOwn(patch.layers, id);
    if (slot === undefined) continue;
    if (slot === null) {
      if (position.has(id)) removals.push(id);
    } else if (position.has(id)) renames.set(id, { id, name: slot.layer.name });
    else inserts.push({ layer: { id, name: slot.layer.name }, index: slot.index });
  }
  // A patch never removes the last layer (e.g. undoing the add of what is now the only layer).
  const removed = new Set<string>();
  for (const id of removals) {
    if (before.length - removed.size - 1 + inserts.length < 1) break;
    removed.add(id);
    setOwn(inverse.layers, id, { layer: before[position.get(id)!], index: position.get(id)! });
  }
  let layers: Layer[] = before.filter((layer) => !removed.has(layer.id));
  layers = layers.map((layer) => {
    const renamed = renames.get(layer.id);
    if (!renamed) return layer;
    setOwn(inverse.layers, layer.id, { layer, index: position.get(layer.id)! });
    return renamed;
  });
  inserts.sort((a, b) => a.index - b.index || compareStrings(a.layer.id, b.layer.id));
  for (const slot of inserts) {
    layers.splice(Math.min(slot.index, layers.length), 0, slot.layer);
    setOwn(inverse.layers, slot.layer.id, null);
  }
  if (patch.order) {
    inverse.order = before.map((layer) => layer.id);
    layers = mergeLayerOrder(layers, patch.order);
  }
  const layerSetChanged = removed.size > 0 || inserts.length > 0;
  if (layerSetChanged || renames.size > 0 || patch.order) draft.layers = layers;
  if (layerSetChanged || patch.order) draft.layerOrderChange = mark;
  for (const id of removed) {
    draft.set("layerChanges", id, undefined);
    draft.set("deletedLayers", id, mark);
  }
  for (const id of [...renames.keys(), ...inserts.map((slot) => slot.layer.id)]) {
    draft.set("layerChanges", id, mark);
    draft.set("deletedLayers", id, undefined);
  }

  // Objects: the patch's, plus every object of a removed layer.
  const live = new Set(layers.map((layer) => layer.id));
  const ids = new Set(Object.keys(patch.objects));
  if (removed.size > 0) {
    for (const id of Object.keys(draft.view("objects"))) if (removed.has(draft.get("objects", id)!.layerId)) ids.add(id);
  }
  for (const id of [...ids].sort(compareStrings)) {
    const current = draft.get("objects", id);
    let target = getOwn(patch.objects, id) ?? null;
    // An object whose layer is gone cannot come back: it stays as it is, or absent.
    if (target && !live.has(target.layerId)) target = current && live.has(current.layerId) ? current : null;
    if (target === (current ?? null)) continue;
    setOwn(inverse.objects, id, current ?? null);
    if (target) {
      const { kind, layerId, props, createdBy, z } = target;
      draft.set("objects", id, { id, kind, layerId, props, createdBy, version, z });
      draft.set("objectChanges", id, mark);
      draft.set("deletedObjects", id, undefined);
      draft.set("layerChanges", layerId, mark);
    } else if (current) {
      draft.set("objects", id, undefined);
      draft.set("objectChanges", id, undefined);
      draft.set("deletedObjects", id, { by, version, kind: current.kind, layerId: current.layerId });
    }
    // The layer an object leaves changed too (when it still exists).
    if (current && live.has(current.layerId) && current.layerId !== target?.layerId) draft.set("layerChanges", current.layerId, mark);
  }
  return inverse;
}

/**
 * `order` applied to `layers`: the slots of the layers it names are filled with those layers in
 * its order; layers it does not name keep their slots; names of absent layers are ignored. With
 * a permutation of `layers` this is exactly `order`; with a stale order (layers added or deleted
 * by others since) it reorders what it can and keeps everyone else's layers.
 */
export function mergeLayerOrder(layers: readonly Layer[], order: readonly string[]): Layer[] {
  const byId = new Map(layers.map((layer) => [layer.id, layer]));
  const named = [...new Set(order)].filter((id) => byId.has(id));
  const namedSet = new Set(named);
  let next = 0;
  return layers.map((layer) => (namedSet.has(layer.id) ? byId.get(named[next++])! : layer));
}

/** A patch with `objects` and `layers` given as lists of [key, value] (keys may be "__proto__"). */
export function patchOf(objects: Iterable<[string, BoardObject | null]>, layers: Iterable<[string, LayerSlot | null]> = [], order?: string[]): BoardPatch {
  const patch: BoardPatch = { objects: {}, layers: {} };
  for (const [id, value] of objects) setOwn(patch.objects, id, value);
  for (const [id, value] of layers) setOwn(patch.layers, id, value);
  if (order) patch.order = order;
  return patch;
}
