import { getOwn, setOwn, sortedKeys } from "./draft";
import { BoardValidationError } from "./errors";
import { BOARD_OP_TYPES, type BoardObject, type BoardOpType, type Layer } from "./types";

/**
 * Size bounds, so that one op (or one batch) cannot blow up memory or a snapshot. Props are
 * bounded apart from `points`, which a 10 000-point stroke alone would push past 64 KiB.
 */
export const BOARD_LIMITS = {
  /** HARDENING.md: board ops per mutation. */
  maxOpsPerBatch: 500,
  /** ids (objects, layers, clientOpId), kinds, user ids. */
  maxIdLength: 64,
  maxNameLength: 200,
  /** Any other string: text, url, color, strings inside props. */
  maxStringLength: 10_000,
  maxPoints: 10_000,
  /** UTF-8 bytes of an object's props as JSON, `points` not counted. */
  maxPropsBytes: 64 * 1024,
  maxJsonDepth: 32,
  /** LAYER_ADD beyond this is invalid (layer lists are scanned linearly). */
  maxLayers: 100,
  /** Undo entries kept per user; the oldest go first. */
  maxHistory: 100,
} as const;

export type Fail = (reason: string) => never;

/** A client op after the stateless checks: known type, fields typed, JSON values copied clean. */
export type ParsedOp = { clientOpId: string; baseVersion: number } & ParsedData;

export type ParsedData =
  /** STROKE, OBJECT_CREATE, IMAGE_UPLOAD: the object to create; layerId as sent (may be absent). */
  | { type: "STROKE" | "OBJECT_CREATE" | "IMAGE_UPLOAD"; id: string; kind: string; layerId?: string; props: Record<string, unknown> }
  | { type: "OBJECT_MODIFY"; id: string; props: Record<string, unknown> }
  | { type: "OBJECT_DELETE" | "LAYER_DELETE"; id: string }
  /** `props`: `{ …unknown fields, text }`, the props of the text if the edit creates it. */
  | { type: "TEXT_EDIT"; id: string; text: string; layerId?: string; props: Record<string, unknown> }
  | { type: "LAYER_ADD"; id: string; name: string; index?: number }
  | { type: "LAYER_REORDER"; order: string[] }
  | { type: "UNDO" | "REDO" | "CLEAR" }
  | { type: "RESTORE"; content: BoardContent };

/** A board's content as RESTORE carries it (an exported board, a snapshot). */
export interface BoardContent {
  layers: Layer[];
  /** Objects keyed by id; `version` and `z` are set when the RESTORE is applied (z kept when given). */
  objects: Record<string, Omit<BoardObject, "version" | "z"> & { z?: number }>;
}

// \u0000 and lone surrogates: Postgres jsonb refuses them and XML cannot carry them (HARDENING.md).
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const BAD_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Parses one client op; throws BoardValidationError naming `index`. */
export function parseOp(raw: unknown, index: number, allowRestore: boolean): ParsedOp {
  let clientOpId: string | null = null;
  const fail: Fail = (reason) => {
    throw new BoardValidationError(reason, index, clientOpId);
  };
  if (!isPlainObject(raw)) fail("an operation must be an object");
  clientOpId = checkId(raw.clientOpId, "clientOpId", fail);
  const type = raw.type;
  if (typeof type !== "string" || !(BOARD_OP_TYPES as readonly string[]).includes(type)) fail(`unknown type ${JSON.stringify(type)}`);
  const baseVersion = raw.baseVersion;
  if (!Number.isSafeInteger(baseVersion) || (baseVersion as number) < 0) fail("baseVersion must be a non-negative integer");
  if (!isPlainObject(raw.data)) fail("data must be an object");
  const data = parseData(type as BoardOpType, raw.data, allowRestore, fail);
  return { clientOpId, baseVersion: baseVersion as number, ...data };
}

function parseData(type: BoardOpType, data: Record<string, unknown>, allowRestore: boolean, fail: Fail): ParsedData {
  switch (type) {
    case "STROKE": {
      const { id, layerId, points, color, width, ...extra } = data;
      const props: Record<string, unknown> = { points: checkPoints(points, fail) };
      if (color != null) props.color = checkString(color, "color", BOARD_LIMITS.maxStringLength, fail);
      if (width != null) props.width = checkNonNegative(width, "width", fail);
      return {
        type,
        id: checkId(id, "id", fail),
        kind: "stroke",
        ...optionalLayer(layerId, fail),
        props: propsOf({ ...props, ...withoutUndefined(extra) }, fail),
      };
    }
    case "IMAGE_UPLOAD": {
      const { id, layerId, url, x, y, width, height, ...extra } = data;
      const props = {
        url: checkUrl(url, "url", fail),
        x: checkNumber(x, "x", fail),
        y: checkNumber(y, "y", fail),
        width: checkNonNegative(width, "width", fail),
        height: checkNonNegative(height, "height", fail),
      };
      const all = propsOf({ ...props, ...withoutUndefined(extra) }, fail);
      checkImageProps(all, fail); // an unknown `href` or `src` is kept in props too
      return { type, id: checkId(id, "id", fail), kind: IMAGE_KIND, ...optionalLayer(layerId, fail), props: all };
    }
    case "OBJECT_CREATE": {
      const { id, kind, layerId, props, ...extra } = data;
      if (!isPlainObject(props)) fail("props must be an object");
      // BOARD_OPS.md: unknown fields are kept in props; props' own keys win over them.
      const merged = propsOf({ ...withoutUndefined(extra), ...props }, fail);
      const parsedKind = checkId(kind, "kind", fail);
      if (parsedKind === IMAGE_KIND) checkImageProps(merged, fail);
      return { type, id: checkId(id, "id", fail), kind: parsedKind, ...optionalLayer(layerId, fail), props: merged };
    }
    case "OBJECT_MODIFY": {
      if (!isPlainObject(data.props)) fail("props must be an object");
      return { type, id: checkId(data.id, "id", fail), props: propsOf(data.props, fail) };
    }
    case "OBJECT_DELETE":
    case "LAYER_DELETE":
      return { type, id: checkId(data.id, "id", fail) };
    case "TEXT_EDIT": {
      const { id, text, layerId, ...extra } = data;
      const parsedText = checkString(text, "text", BOARD_LIMITS.maxStringLength, fail);
      const props = propsOf({ ...withoutUndefined(extra), text: parsedText }, fail);
      return { type, id: checkId(id, "id", fail), text: parsedText, ...optionalLayer(layerId, fail), props };
    }
    case "LAYER_ADD": {
      const index = data.index;
      if (index != null && (!Number.isSafeInteger(index) || (index as number) < 0)) fail("index must be a non-negative integer");
      return {
        type,
        id: checkId(data.id, "id", fail),
        name: checkString(data.name, "name", BOARD_LIMITS.maxNameLength, fail),
        ...(index != null ? { index: index as number } : {}),
      };
    }
    case "LAYER_REORDER": {
      const order = data.order;
      if (!Array.isArray(order) || order.length === 0 || order.length > BOARD_LIMITS.maxLayers) fail("order must be a non-empty array of layer ids");
      const ids = order.map((id) => checkId(id, "order", fail));
      if (new Set(ids).size !== ids.length) fail("order names a layer twice");
      return { type, order: ids };
    }
    case "UNDO":
    case "REDO":
    case "CLEAR":
      return { type };
    case "RESTORE":
      // Written by the server only (restoreSnapshot, importBoard, solo snapshots).
      if (!allowRestore) fail("RESTORE is written by the server only");
      return { type, content: parseBoardContent(data, fail) };
  }
}

/** Checks a board's content (RESTORE data, an import, a solo snapshot); throws through `fail`. */
export function parseBoardContent(data: Record<string, unknown>, fail: Fail): BoardContent {
  const { layers, objects } = data;
  if (!Array.isArray(layers) || layers.length === 0 || layers.length > BOARD_LIMITS.maxLayers) {
    fail(`layers must be an array of 1 to ${BOARD_LIMITS.maxLayers} layers`);
  }
  const parsedLayers = layers.map((layer): Layer => {
    if (!isPlainObject(layer)) fail("a layer must be an object");
    return { id: checkId(layer.id, "layer id", fail), name: checkString(layer.name, "layer name", BOARD_LIMITS.maxNameLength, fail) };
  });
  const layerIds = new Set(parsedLayers.map((layer) => layer.id));
  if (layerIds.size !== parsedLayers.length) fail("layers name a layer twice");
  if (!isPlainObject(objects)) fail("objects must be an object keyed by id");
  const parsedObjects: BoardContent["objects"] = {};
  for (const key of sortedKeys(objects)) {
    const object = getOwn(objects, key);
    if (!isPlainObject(object)) fail(`object ${key} must be an object`);
    const id = checkId(object.id ?? key, "object id", fail);
    if (id !== key) fail(`object ${key} has the id ${id}`);
    const layerId = checkId(object.layerId, "layerId", fail);
    if (!layerIds.has(layerId)) fail(`object ${key} is on the unknown layer ${layerId}`);
    if (!isPlainObject(object.props)) fail(`object ${key}: props must be an object`);
    const kind = checkId(object.kind, "kind", fail);
    const props = propsOf(object.props, fail);
    if (kind === IMAGE_KIND) checkImageProps(props, (reason) => fail(`object ${key}: ${reason}`));
    const parsed = {
      id,
      kind,
      layerId,
      props,
      createdBy: checkId(object.createdBy, "createdBy", fail),
      ...(typeof object.z === "number" && Number.isFinite(object.z) ? { z: object.z + 0 } : {}),
    };
    setOwn(parsedObjects, key, parsed);
  }
  return { layers: parsedLayers, objects: parsedObjects };
}

/**
 * An object's props, checked and copied clean: plain JSON only (no undefined, NaN, class
 * instances or cycles), strings bounded and well-formed, `points` (if any) a valid point list,
 * everything but `points` within maxPropsBytes. The copy goes through JSON, so -0 becomes 0 and
 * nothing of the caller's objects is shared with the board.
 */
export function propsOf(props: Record<string, unknown>, fail: Fail): Record<string, unknown> {
  const { points, ...rest } = props;
  if (Object.hasOwn(props, "points")) checkPoints(points, fail);
  checkJson(rest, "props", 0, { left: BOARD_LIMITS.maxPropsBytes }, fail);
  const json = JSON.stringify(rest);
  if (utf8Length(json) > BOARD_LIMITS.maxPropsBytes) fail(`props are over ${BOARD_LIMITS.maxPropsBytes} bytes`);
  return JSON.parse(JSON.stringify(props)) as Record<string, unknown>;
}

/** Walks a JSON value; `budget` is a lower bound of its JSON size, to stop early on huge input. */
function checkJson(value: unknown, path: string, depth: number, budget: { left: number }, fail: Fail): void {
  if (depth > BOARD_LIMITS.maxJsonDepth) fail(`${path} is nested too deep`);
  if ((budget.left -= 1) < 0) fail(`props are over ${BOARD_LIMITS.maxPropsBytes} bytes`);
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(`${path} must be a finite number`);
    return;
  }
  if (typeof value === "string") {
    checkString(value, path, BOARD_LIMITS.maxStringLength, fail);
    budget.left -= value.length;
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJson(value[i], `${path}[${i}]`, depth + 1, budget, fail);
    return;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      checkString(key, `a key in ${path}`, BOARD_LIMITS.maxStringLength, fail);
      budget.left -= key.length;
      checkJson(getOwn(value, key), `${path}.${key}`, depth + 1, budget, fail);
    }
    return;
  }
  fail(`${path} must be JSON (got ${value === undefined ? "undefined" : typeof value})`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Optional fields: absent, undefined and null all mean "not given". */
function optionalLayer(layerId: unknown, fail: Fail): { layerId?: string } {
  return layerId == null ? {} : { layerId: checkId(layerId, "layerId", fail) };
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) if (getOwn(record, key) !== undefined) setOwn(out, key, getOwn(record, key));
  return out;
}

export function checkString(value: unknown, what: string, max: number, fail: Fail): string {
  if (typeof value !== "string") fail(`${what} must be a string`);
  if (value.length > max) fail(`${what} is longer than ${max} characters`);
  if (BAD_TEXT.test(value)) fail(`${what} contains \\u0000 or a lone surrogate`);
  return value;
}

export function checkId(value: unknown, what: string, fail: Fail): string {
  const id = checkString(value, what, BOARD_LIMITS.maxIdLength, fail);
  if (id.length === 0) fail(`${what} must not be empty`);
  if (CONTROL.test(id)) fail(`${what} contains a control character`);
  return id;
}

function checkNumber(value: unknown, what: string, fail: Fail): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(`${what} must be a finite number`);
  return value + 0; // -0 → 0: the state must survive a JSON round trip unchanged
}

function checkNonNegative(value: unknown, what: string, fail: Fail): number {
  const n = checkNumber(value, what, fail);
  if (n < 0) fail(`${what} must not be negative`);
  return n;
}

/** `[[x, y], …]`: 1 to maxPoints pairs of finite numbers. */
export function checkPoints(value: unknown, fail: Fail): Array<[number, number]> {
  if (!Array.isArray(value) || value.length === 0 || value.length > BOARD_LIMITS.maxPoints) {
    fail(`points must be an array of 1 to ${BOARD_LIMITS.maxPoints} [x, y] pairs`);
  }
  return value.map((point): [number, number] => {
    if (!Array.isArray(point) || point.length !== 2) fail("points must be [x, y] pairs");
    return [checkNumber(point[0], "a point's x", fail), checkNumber(point[1], "a point's y", fail)];
  });
}

/** The kind IMAGE_UPLOAD creates; any object of this kind is an image to every client. */
export const IMAGE_KIND = "image";
/** The props of an image that clients (and renderSvg) may load: each must be a safe image URL. */
export const IMAGE_URL_PROPS = ["url", "href", "src", "xlink:href"] as const;

// Raster types only: an SVG (or HTML) document can run script when opened from its URL.
const RASTER_DATA_URL = /^data:image\/(png|jpeg|gif|webp)[;,]/i;
const WEB_URL = /^https?:/i;

/**
 * The URL a browser would load for an image URL, or null unless it is an http(s) URL or a
 * raster data:image URL. Checked as a browser reads it: its URL parser skips leading and
 * trailing spaces and C0 controls and drops tabs and newlines anywhere (" java\tscript:" is
 * javascript:), so controls are refused, spaces trimmed and the scheme must start the rest.
 * Relative URLs are refused: what they load depends on the page showing the board.
 */
export function safeImageHref(url: string): string | null {
  if (CONTROL.test(url)) return null;
  const trimmed = url.replace(/^ +| +$/g, "");
  if (!WEB_URL.test(trimmed) && !RASTER_DATA_URL.test(trimmed)) return null;
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return null;
  }
  const ok = parsed.protocol === "https:" || parsed.protocol === "http:" || (parsed.protocol === "data:" && RASTER_DATA_URL.test(parsed.href));
  return ok ? parsed.href : null;
}

export function isSafeImageUrl(url: string): boolean {
  return safeImageHref(url) !== null;
}

function checkUrl(value: unknown, what: string, fail: Fail): string {
  const url = checkString(value, what, BOARD_LIMITS.maxStringLength, fail);
  if (!isSafeImageUrl(url)) fail(`${what} must be an http(s) URL or a data:image URL (png, jpeg, gif, webp)`);
  return url;
}

/**
 * An image's URL props (IMAGE_URL_PROPS), those present, must be safe image URLs: every way an
 * image is made or changed (IMAGE_UPLOAD, OBJECT_CREATE, OBJECT_MODIFY, RESTORE) checks them.
 */
export function checkImageProps(props: Record<string, unknown>, fail: Fail): void {
  for (const key of IMAGE_URL_PROPS) if (Object.hasOwn(props, key)) checkUrl(getOwn(props, key), key, fail);
}

/** UTF-8 length of a string without lone surrogates (they are refused before). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
