import type { BoardObject, BoardState, ChangeMark, Layer, ObjectTombstone, UserHistory } from "./types";

/**
 * Own-property access for records keyed by client-chosen ids: `objects["constructor"]` must
 * not find Object.prototype's, and `rec["__proto__"] = x` must not set a prototype.
 */
export function getOwn<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Sets (or with undefined, deletes) an own property; safe for the key "__proto__". */
export function setOwn<T>(record: Record<string, T>, key: string, value: T | undefined): void {
  if (value === undefined) delete record[key];
  else if (key === "__proto__") Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
  else record[key] = value;
}

/** Keys in a fixed order (UTF-16 code units), so no loop depends on insertion history. */
export function sortedKeys(record: Readonly<Record<string, unknown>>): string[] {
  // The default sort compares UTF-16 code units, as compareStrings does, without a call per comparison.
  return Object.keys(record).sort();
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Records {
  objects: Record<string, BoardObject>;
  objectChanges: Record<string, ChangeMark>;
  layerChanges: Record<string, ChangeMark>;
  deletedObjects: Record<string, ObjectTombstone>;
  deletedLayers: Record<string, ChangeMark>;
  history: Record<string, UserHistory>;
}
type RecordName = keyof Records;
type ValueOf<K extends RecordName> = Records[K][string];

/** One undoable write of an in-place draft. */
type JournalEntry = { record: Record<string, unknown>; key: string; had: boolean; old: unknown } | { replaced: RecordName; old: Records[RecordName] };

/**
 * A board being changed by one batch. By default it starts sharing every record of the input
 * state and copies a record the first time it is written, so the input is never mutated and a
 * batch costs one copy per record it touches (not one per op): O(board size) per batch.
 *
 * In place, it writes into the input's records and journals every write, so a batch costs
 * O(its own size) and `rollback` puts the input back exactly (for a board the caller owns
 * alone, e.g. the service's cached board on the write path). Either way values (objects,
 * marks, layers, history stacks) are replaced, never mutated.
 */
export class Draft {
  version: number;
  layers: readonly Layer[];
  layerOrderChange: ChangeMark | null;
  private readonly records: Records;
  private readonly copied = new Set<RecordName>();
  private readonly journal: JournalEntry[] | null;

  constructor(
    private readonly state: BoardState,
    inPlace = false,
  ) {
    this.journal = inPlace ? [] : null;
    this.version = state.version;
    this.layers = state.layers;
    this.layerOrderChange = state.meta.layerOrderChange;
    const { objectChanges, layerChanges, deletedObjects, deletedLayers, history } = state.meta;
    this.records = { objects: state.objects, objectChanges, layerChanges, deletedObjects, deletedLayers, history };
  }

  get<K extends RecordName>(name: K, key: string): ValueOf<K> | undefined {
    return getOwn(this.records[name] as Record<string, ValueOf<K>>, key);
  }

  set<K extends RecordName>(name: K, key: string, value: ValueOf<K> | undefined): void {
    const had = Object.hasOwn(this.records[name], key);
    if (value === undefined && !had) return;
    const record = this.writable(name) as Record<string, ValueOf<K>>;
    this.journal?.push({ record, key, had, old: record[key] });
    setOwn(record, key, value);
  }

  /** The record as it is now; read only. */
  view<K extends RecordName>(name: K): Readonly<Records[K]> {
    return this.records[name];
  }

  /** Replaces a whole record (RESTORE clearing every history). */
  replace<K extends RecordName>(name: K, record: Records[K]): void {
    this.journal?.push({ replaced: name, old: this.records[name] });
    this.records[name] = record;
    this.copied.add(name);
  }

  layerIndex(id: string): number {
    return this.layers.findIndex((layer) => layer.id === id);
  }

  /** BOARD_OPS.md: `"default"` when that layer exists, otherwise the top layer. */
  defaultLayerId(): string {
    return this.layerIndex("default") >= 0 ? "default" : this.layers[this.layers.length - 1].id;
  }

  /** The resulting board: a new state, or in place the input state, updated. */
  toState(): BoardState {
    const { objects, objectChanges, layerChanges, deletedObjects, deletedLayers, history } = this.records;
    const meta = { objectChanges, layerChanges, layerOrderChange: this.layerOrderChange, deletedObjects, deletedLayers, history };
    if (!this.journal) return { version: this.version, layers: this.layers as Layer[], objects, meta };
    // The input's records were written in place; only the fields replaced wholesale remain.
    Object.assign(this.state, { version: this.version, layers: this.layers, objects });
    Object.assign(this.state.meta, meta);
    this.journal.length = 0;
    return this.state;
  }

  /**
   * In place: toState, and how to undo it: the input's records as they were (the journal,
   * newest first) and its fields replaced wholesale. Null for a copying draft.
   */
  toStateWithUndo(): { state: BoardState; undo: (() => void) | null } {
    if (!this.journal) return { state: this.toState(), undo: null };
    const { version, layers, objects } = this.state;
    const meta = { ...this.state.meta };
    const journal = this.journal.splice(0);
    const state = this.toState();
    return {
      state,
      undo: () => {
        undoWrites(journal);
        Object.assign(state, { version, layers, objects });
        Object.assign(state.meta, meta);
      },
    };
  }

  /** In place: undoes every write since the start, newest first (the input is as it was). */
  rollback(): void {
    if (!this.journal) return;
    for (const entry of undoWrites(this.journal)) this.records[entry.replaced] = entry.old as never;
    this.journal.length = 0;
  }

  private writable<K extends RecordName>(name: K): Records[K] {
    if (this.journal) return this.records[name];
    if (!this.copied.has(name)) {
      this.records[name] = { ...this.records[name] };
      this.copied.add(name);
    }
    return this.records[name];
  }
}

/** Undoes the journal's record writes, newest first; answers its wholesale replacements, newest first. */
function undoWrites(journal: readonly JournalEntry[]): Array<Extract<JournalEntry, { replaced: RecordName }>> {
  const replaced: Array<Extract<JournalEntry, { replaced: RecordName }>> = [];
  for (let i = journal.length - 1; i >= 0; i--) {
    const entry = journal[i];
    if ("replaced" in entry) replaced.push(entry);
    else if (entry.had) setOwn(entry.record, entry.key, entry.old);
    else delete entry.record[entry.key];
  }
  return replaced;
}
