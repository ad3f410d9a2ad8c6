import type { BoardState } from "./types";

/** Entries of a record serialized together; a block is reused while none of its entries changed. */
const BLOCK_ENTRIES = 128;

/** A record's entries as last serialized, with the UTF-8 JSON text of each block of them. */
interface RecordText {
  keys: string[];
  values: unknown[];
  blocks: Buffer[];
}

/**
 * The last text of each keyed record (board.objects and meta's records), for as long as the
 * record lives. The records of a cached board are changed in place, but their values are
 * replaced, never mutated (draft.ts): a block whose keys and value identities are those of
 * its last serialization has the same text.
 */
const recordTexts = new WeakMap<object, RecordText>();

/** The keyed records of a board's meta; `objects` is the board's own. */
const META_RECORDS = new Set(["objectChanges", "layerChanges", "deletedObjects", "deletedLayers", "history"]);

const COMMA = Buffer.from(",");
const OPEN = Buffer.from("{");
const CLOSE = Buffer.from("}");

/**
 * Buffer.from(JSON.stringify(state)), the same bytes, reusing the text of every block of
 * record entries that has not changed since the board was last serialized. A keyframe every
 * SNAPSHOT_EVERY_EVENTS versions of a growing board then serializes only what changed since
 * the last one, and never builds the board as one JavaScript string (flattening a string of
 * megabytes was as costly as serializing it): serializing the whole board was the largest
 * cost of a board write (issue 12).
 */
export function boardBytes(state: BoardState): Buffer {
  const out: Buffer[] = [];
  pushObject(out, state as unknown as Record<string, unknown>, (key, value) => {
    if (key === "objects") pushRecord(out, value as Record<string, unknown>);
    else if (key === "meta")
      pushObject(out, value as Record<string, unknown>, (k, v) => (META_RECORDS.has(k) ? pushRecord(out, v as Record<string, unknown>) : pushJson(out, v)));
    else pushJson(out, value);
  });
  return Buffer.concat(out);
}

function pushJson(out: Buffer[], value: unknown): void {
  out.push(Buffer.from(JSON.stringify(value)));
}

function pushObject(out: Buffer[], value: Record<string, unknown>, member: (key: string, value: unknown) => void): void {
  let first = true;
  out.push(OPEN);
  for (const key of Object.keys(value)) {
    if (value[key] === undefined) continue;
    out.push(Buffer.from(`${first ? "" : ","}${JSON.stringify(key)}:`));
    member(key, value[key]);
    first = false;
  }
  out.push(CLOSE);
}

function pushRecord(out: Buffer[], record: Record<string, unknown>): void {
  const keys = Object.keys(record);
  const values = keys.map((key) => record[key]);
  const last = recordTexts.get(record);
  const blocks: Buffer[] = [];
  for (let start = 0; start < keys.length; start += BLOCK_ENTRIES) {
    const end = Math.min(start + BLOCK_ENTRIES, keys.length);
    blocks.push(last && sameBlock(last, keys, values, start, end) ? last.blocks[start / BLOCK_ENTRIES] : blockText(keys, values, start, end));
  }
  recordTexts.set(record, { keys, values, blocks });
  out.push(OPEN);
  blocks.forEach((block, i) => (i > 0 ? out.push(COMMA, block) : out.push(block)));
  out.push(CLOSE);
}

function sameBlock(last: RecordText, keys: string[], values: unknown[], start: number, end: number): boolean {
  if (Math.min(start + BLOCK_ENTRIES, last.keys.length) !== end) return false;
  for (let i = start; i < end; i++) {
    if (last.keys[i] !== keys[i] || last.values[i] !== values[i]) return false;
  }
  return true;
}

function blockText(keys: string[], values: unknown[], start: number, end: number): Buffer {
  const entries: string[] = [];
  for (let i = start; i < end; i++) entries.push(`${JSON.stringify(keys[i])}:${JSON.stringify(values[i])}`);
  return Buffer.from(entries.join(","));
}
