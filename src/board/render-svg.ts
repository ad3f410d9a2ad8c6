import { compareStrings } from "./draft";
import type { BoardObject, BoardState } from "./types";
import { safeImageHref } from "./validate";

/** The viewBox of a board with nothing on it. */
const DEFAULT_VIEW = { x: 0, y: 0, width: 1280, height: 720 };
const PADDING = 16;
/** Coordinates are clamped to this for rendering, so a stray 1e300 cannot make an unusable viewBox. */
const MAX_COORD = 1e7;

interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/**
 * An SVG document of the board (snapshot thumbnails, exports): one `<g data-layer>` per layer
 * in drawing order, and in it exactly one element per object, `data-id` set, in drawing order
 * (z, then id). Known kinds: stroke (path), rect, ellipse/circle, line/arrow, text, image;
 * any other kind is drawn from its points or its box, or as an empty `<g>`. Text is escaped
 * (and characters XML cannot carry dropped); colors and image URLs that are not plainly safe
 * are replaced, so the document never references anything but the images themselves. The
 * viewBox is the content's bounds plus a margin, or 0 0 1280 720 for an empty board.
 * Deterministic: the same board always renders the same text.
 */
export function renderSvg(state: BoardState): string {
  const byLayer = new Map<string, BoardObject[]>(state.layers.map((layer) => [layer.id, []]));
  for (const id of Object.keys(state.objects)) {
    const object = state.objects[id];
    byLayer.get(object.layerId)?.push(object);
  }
  let bounds: Bounds | null = null;
  const groups = state.layers.map((layer) => {
    const objects = byLayer.get(layer.id)!.sort((a, b) => a.z - b.z || compareStrings(a.id, b.id));
    const elements = objects.map((object) => {
      const rendered = renderObject(object);
      if (rendered.bounds) bounds = union(bounds, rendered.bounds);
      return `    ${rendered.element}`;
    });
    const open = `  <g data-layer="${escapeXml(layer.id)}" data-name="${escapeXml(layer.name)}"`;
    return elements.length === 0 ? `${open}/>` : `${open}>\n${elements.join("\n")}\n  </g>`;
  });
  const view = viewOf(bounds);
  const box = `${fmt(view.x)} ${fmt(view.y)} ${fmt(view.width)} ${fmt(view.height)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${box}" width="${fmt(view.width)}" height="${fmt(view.height)}" data-version="${state.version}">`,
    `  <rect x="${fmt(view.x)}" y="${fmt(view.y)}" width="${fmt(view.width)}" height="${fmt(view.height)}" fill="#ffffff"/>`,
    ...groups,
    "</svg>",
    "",
  ].join("\n");
}

function viewOf(bounds: Bounds | null): typeof DEFAULT_VIEW {
  if (!bounds) return DEFAULT_VIEW;
  return {
    x: bounds.minX - PADDING,
    y: bounds.minY - PADDING,
    width: Math.max(1, bounds.maxX - bounds.minX) + 2 * PADDING,
    height: Math.max(1, bounds.maxY - bounds.minY) + 2 * PADDING,
  };
}

function renderObject(object: BoardObject): { element: string; bounds: Bounds | null } {
  const props = object.props;
  const head = `data-id="${escapeXml(object.id)}" data-kind="${escapeXml(object.kind)}"`;
  const color = safeColor(props.color, "#000000");
  const points = pointsOf(props.points);

  if (points && (object.kind === "stroke" || !box(props))) {
    const width = clamp(num(props.width, props.strokeWidth) ?? 2, 0, 1000);
    const [first, ...rest] = points;
    const d = `M${fmt(first[0])} ${fmt(first[1])}` + (rest.length === 0 ? " l0 0" : rest.map(([x, y]) => ` L${fmt(x)} ${fmt(y)}`).join(""));
    const element = `<path ${head} d="${d}" fill="none" stroke="${color}" stroke-width="${fmt(width)}" stroke-linecap="round" stroke-linejoin="round"/>`;
    return { element, bounds: grow(pointBounds(points), width / 2) };
  }
  const outline = `stroke="${color}" stroke-width="${fmt(clamp(num(props.strokeWidth) ?? 2, 0, 1000))}" fill="${safeColor(props.fill, "none")}"`;
  switch (object.kind) {
    case "line":
    case "arrow": {
      const [x1, y1, x2, y2] = [num(props.x1) ?? 0, num(props.y1) ?? 0, num(props.x2) ?? 0, num(props.y2) ?? 0].map(coord);
      const element = `<line ${head} x1="${fmt(x1)}" y1="${fmt(y1)}" x2="${fmt(x2)}" y2="${fmt(y2)}" ${outline}/>`;
      return {
        element,
        bounds: pointBounds([
          [x1, y1],
          [x2, y2],
        ]),
      };
    }
    case "ellipse":
    case "circle": {
      const b = box(props) ?? circle(props);
      if (!b) break;
      const [cx, cy, rx, ry] = [(b.minX + b.maxX) / 2, (b.minY + b.maxY) / 2, (b.maxX - b.minX) / 2, (b.maxY - b.minY) / 2];
      return { element: `<ellipse ${head} cx="${fmt(cx)}" cy="${fmt(cy)}" rx="${fmt(rx)}" ry="${fmt(ry)}" ${outline}/>`, bounds: b };
    }
    case "text": {
      const text = typeof props.text === "string" ? props.text : "";
      const size = clamp(num(props.fontSize) ?? 16, 1, 1000);
      const x = coord(num(props.x) ?? 0);
      const y = coord(num(props.y) ?? 0);
      const lines = text.split("\n");
      // (x, y) is the top left; each line is a tspan one line height below the previous one.
      const spans = lines.map((line, i) => `<tspan x="${fmt(x)}" dy="${i === 0 ? "1em" : "1.2em"}">${escapeXml(line)}</tspan>`).join("");
      const element = `<text ${head} x="${fmt(x)}" y="${fmt(y)}" font-size="${fmt(size)}" font-family="sans-serif" fill="${color}" xml:space="preserve">${spans}</text>`;
      const longest = Math.max(1, ...lines.map((line) => line.length));
      return { element, bounds: { minX: x, minY: y, maxX: x + longest * size * 0.6, maxY: y + lines.length * size * 1.2 } };
    }
    case "image": {
      const b = box(props);
      if (!b) break;
      // Stored boards may predate the URL checks: only the URL as a browser would load it, and
      // only if it passes them; anything else is the placeholder.
      const url = typeof props.url === "string" ? safeImageHref(props.url) : null;
      const geometry = `x="${fmt(b.minX)}" y="${fmt(b.minY)}" width="${fmt(b.maxX - b.minX)}" height="${fmt(b.maxY - b.minY)}"`;
      const element = url
        ? `<image ${head} href="${escapeXml(url)}" ${geometry} preserveAspectRatio="none"/>`
        : `<rect ${head} ${geometry} fill="#eeeeee" stroke="#999999"/>`;
      return { element, bounds: b };
    }
  }
  const b = box(props);
  if (b) {
    const dashed = object.kind === "rect" ? "" : ` stroke-dasharray="4 4"`;
    const element = `<rect ${head} x="${fmt(b.minX)}" y="${fmt(b.minY)}" width="${fmt(b.maxX - b.minX)}" height="${fmt(b.maxY - b.minY)}" ${outline}${dashed}/>`;
    return { element, bounds: b };
  }
  return { element: `<g ${head}/>`, bounds: null };
}

/** x, y with w/h (or width/height); negative sizes grow left/up. */
function box(props: Record<string, unknown>): Bounds | null {
  const x = num(props.x);
  const y = num(props.y);
  const w = num(props.w, props.width);
  const h = num(props.h, props.height);
  if (x === undefined || y === undefined || w === undefined || h === undefined) return null;
  const [x1, x2] = [coord(x), coord(x + w)].sort((a, b) => a - b);
  const [y1, y2] = [coord(y), coord(y + h)].sort((a, b) => a - b);
  return { minX: x1, minY: y1, maxX: x2, maxY: y2 };
}

function circle(props: Record<string, unknown>): Bounds | null {
  const cx = num(props.cx);
  const cy = num(props.cy);
  const rx = num(props.rx, props.r);
  const ry = num(props.ry, props.r);
  if (cx === undefined || cy === undefined || rx === undefined || ry === undefined) return null;
  return { minX: coord(cx - Math.abs(rx)), minY: coord(cy - Math.abs(ry)), maxX: coord(cx + Math.abs(rx)), maxY: coord(cy + Math.abs(ry)) };
}

function pointsOf(value: unknown): Array<[number, number]> | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const points: Array<[number, number]> = [];
  for (const point of value) {
    if (!Array.isArray(point) || typeof point[0] !== "number" || typeof point[1] !== "number") return null;
    if (!Number.isFinite(point[0]) || !Number.isFinite(point[1])) return null;
    points.push([coord(point[0]), coord(point[1])]);
  }
  return points;
}

function pointBounds(points: Array<[number, number]>): Bounds {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of points) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return { minX, minY, maxX, maxY };
}

function grow(b: Bounds, by: number): Bounds {
  return { minX: b.minX - by, minY: b.minY - by, maxX: b.maxX + by, maxY: b.maxY + by };
}

function union(a: Bounds | null, b: Bounds): Bounds {
  if (!a) return b;
  return { minX: Math.min(a.minX, b.minX), minY: Math.min(a.minY, b.minY), maxX: Math.max(a.maxX, b.maxX), maxY: Math.max(a.maxY, b.maxY) };
}

/** The first of `values` that is a finite number. */
function num(...values: unknown[]): number | undefined {
  return values.find((value): value is number => typeof value === "number" && Number.isFinite(value));
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

function coord(n: number): number {
  return clamp(n, -MAX_COORD, MAX_COORD);
}

/** At most 2 decimals, never "-0" or an exponent (coordinates are clamped). */
function fmt(n: number): string {
  const rounded = Math.round(n * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

// Hex, a color name, or rgb()/hsl() with plain numbers: nothing that can reference a URL.
const SAFE_COLOR = /^(#[0-9a-f]{3,8}|[a-z]{1,32}|(rgb|rgba|hsl|hsla)\([0-9.,%\s]{1,64}\))$/i;
function safeColor(value: unknown, fallback: string): string {
  return typeof value === "string" && SAFE_COLOR.test(value) ? value : fallback;
}

// Characters XML 1.0 cannot carry even escaped (most C0 controls, U+FFFE/U+FFFF, lone surrogates).
const NOT_XML = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;
const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** Text or an attribute value, escaped for XML. */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML, "").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}
