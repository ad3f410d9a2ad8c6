import { h } from "../dom";
import type { BoardEventType } from "../generated/graphql";
import type { Board, BoardObject } from "./model";
import type { PendingOp } from "./sync";

/** Board coordinates: every client draws in this space, whatever its screen size. */
export const BOARD_WIDTH = 1600;
export const BOARD_HEIGHT = 1000;

export type Tool = "pen" | "rect" | "text" | "eraser";

export interface CanvasOptions {
  /** The user's op (pen stroke, rectangle, text, erase): sent by BoardSync. */
  emit: (type: BoardEventType, data: Record<string, unknown>) => void;
  newId: (prefix: string) => string;
  /** Pointer position in board coordinates (for moveCursor). */
  onPointer: (x: number, y: number) => void;
  tool: () => Tool;
  color: () => string;
  layerId: () => string;
  canDraw: () => boolean;
}

/**
 * The whiteboard canvas: draws the board (layers bottom first, objects by z) plus the user's
 * pending ops, and turns pointer input into ops. It scales board coordinates to its width, so
 * a phone shows the whole board.
 */
export class BoardCanvas {
  readonly element: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private stroke: Array<[number, number]> | null = null;
  private rectStart: [number, number] | null = null;
  private rectEnd: [number, number] | null = null;
  private erased = new Set<string>();
  private last: { board: Board; pending: readonly PendingOp[] } | undefined;
  private textInput: HTMLInputElement | undefined;

  constructor(private readonly options: CanvasOptions) {
    this.canvas = h("canvas", { class: "board-canvas", "data-testid": "board-canvas", width: BOARD_WIDTH, height: BOARD_HEIGHT });
    this.element = h("div", { class: "board-frame" }, this.canvas);
    this.ctx = this.canvas.getContext("2d")!;
    this.canvas.addEventListener("pointerdown", (e) => this.down(e));
    this.canvas.addEventListener("pointermove", (e) => this.move(e));
    this.canvas.addEventListener("pointerup", (e) => this.up(e));
    this.canvas.addEventListener("pointercancel", () => this.cancel());
  }

  /** The position of a pointer event in board coordinates. */
  private point(e: PointerEvent): [number, number] {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * BOARD_WIDTH;
    const y = ((e.clientY - rect.top) / rect.height) * BOARD_HEIGHT;
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }

  private down(e: PointerEvent): void {
    if (!this.options.canDraw()) return;
    this.canvas.setPointerCapture(e.pointerId);
    const p = this.point(e);
    switch (this.options.tool()) {
      case "pen":
        this.stroke = [p];
        break;
      case "rect":
        this.rectStart = p;
        this.rectEnd = p;
        break;
      case "eraser":
        this.erased.clear();
        this.eraseAt(p);
        break;
      case "text":
        this.askText(p, e);
        break;
    }
    this.redraw();
  }

  private move(e: PointerEvent): void {
    const p = this.point(e);
    this.options.onPointer(p[0], p[1]);
    if (this.stroke) this.stroke.push(p);
    else if (this.rectStart) this.rectEnd = p;
    else if (this.options.tool() === "eraser" && e.buttons === 1) this.eraseAt(p);
    else return;
    this.redraw();
  }

  private up(e: PointerEvent): void {
    const p = this.point(e);
    const layerId = this.options.layerId();
    if (this.stroke) {
      this.stroke.push(p);
      // A click without movement is a dot: two equal points.
      const points = this.stroke.length > 1 ? this.stroke : [p, p];
      this.options.emit("STROKE", { id: this.options.newId("s"), layerId, points, color: this.options.color(), width: 4 });
    } else if (this.rectStart && this.rectEnd) {
      const [x0, y0] = this.rectStart;
      const [x1, y1] = this.rectEnd;
      const w = Math.abs(x1 - x0);
      const hgt = Math.abs(y1 - y0);
      if (w > 2 && hgt > 2) {
        this.options.emit("OBJECT_CREATE", {
          id: this.options.newId("r"),
          kind: "rect",
          layerId,
          props: { x: Math.min(x0, x1), y: Math.min(y0, y1), w, h: hgt, color: this.options.color() },
        });
      }
    }
    this.cancel();
  }

  private cancel(): void {
    this.stroke = null;
    this.rectStart = this.rectEnd = null;
    this.redraw();
  }

  private askText([x, y]: [number, number], e: PointerEvent): void {
    this.textInput?.remove();
    const input = h("input", { class: "board-text-input", "aria-label": "Text", placeholder: "Type, then Enter" });
    const frame = this.element.getBoundingClientRect();
    input.style.left = `${e.clientX - frame.left}px`;
    input.style.top = `${e.clientY - frame.top}px`;
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && input.value.trim()) {
        this.options.emit("OBJECT_CREATE", {
          id: this.options.newId("t"),
          kind: "text",
          layerId: this.options.layerId(),
          props: { x, y, text: input.value.trim(), color: this.options.color(), size: 28 },
        });
        input.remove();
      } else if (ev.key === "Escape") input.remove();
    });
    this.element.append(input);
    this.textInput = input;
    queueMicrotask(() => input.focus());
  }

  private eraseAt([x, y]: [number, number]): void {
    const objects = this.last ? visibleObjects(this.last.board, this.last.pending) : [];
    for (let i = objects.length - 1; i >= 0; i--) {
      const object = objects[i];
      if (!this.erased.has(object.id) && hits(object, x, y, this.ctx)) {
        this.erased.add(object.id);
        this.options.emit("OBJECT_DELETE", { id: object.id });
        return;
      }
    }
  }

  /** Draws `board` with the pending ops on top. */
  render(board: Board, pending: readonly PendingOp[]): void {
    this.last = { board, pending };
    this.redraw();
  }

  private redraw(): void {
    const ctx = this.ctx;
    ctx.clearRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    if (this.last) for (const object of visibleObjects(this.last.board, this.last.pending)) drawObject(ctx, object);
    const color = this.options.color();
    if (this.stroke) drawObject(ctx, { id: "", kind: "stroke", layerId: "", props: { points: this.stroke, color, width: 4 } });
    if (this.rectStart && this.rectEnd) {
      const [x0, y0] = this.rectStart;
      const [x1, y1] = this.rectEnd;
      drawObject(ctx, {
        id: "",
        kind: "rect",
        layerId: "",
        props: { x: Math.min(x0, x1), y: Math.min(y0, y1), w: Math.abs(x1 - x0), h: Math.abs(y1 - y0), color },
      });
    }
  }
}

/** The board's objects in drawing order (layer, then z) with pending creates added and pending deletes removed. */
function visibleObjects(board: Board, pending: readonly PendingOp[]): BoardObject[] {
  const objects: Record<string, BoardObject> = { ...board.objects };
  let z = Number.MAX_SAFE_INTEGER - pending.length;
  for (const op of pending) {
    const data = op.data;
    const id = data.id as string;
    if (op.type === "STROKE") {
      const { id: _id, layerId, ...props } = data;
      objects[id] = { id, kind: "stroke", layerId: layerId as string, props, z: z++ };
    } else if (op.type === "OBJECT_CREATE") {
      objects[id] = { id, kind: data.kind as string, layerId: data.layerId as string, props: data.props as Record<string, unknown>, z: z++ };
    } else if (op.type === "OBJECT_DELETE") delete objects[id];
  }
  const layerIndex = new Map(board.layers.map((layer, index) => [layer.id, index]));
  return Object.values(objects)
    .filter((object) => layerIndex.has(object.layerId))
    .sort((a, b) => layerIndex.get(a.layerId)! - layerIndex.get(b.layerId)! || (a.z ?? 0) - (b.z ?? 0));
}

const num = (value: unknown, fallback = 0) => (typeof value === "number" && Number.isFinite(value) ? value : fallback);
const str = (value: unknown, fallback: string) => (typeof value === "string" ? value : fallback);

function drawObject(ctx: CanvasRenderingContext2D, object: BoardObject): void {
  const p = object.props;
  ctx.strokeStyle = ctx.fillStyle = str(p.color, "#222222");
  switch (object.kind) {
    case "stroke": {
      const points = Array.isArray(p.points) ? (p.points as Array<[number, number]>) : [];
      if (points.length === 0) return;
      ctx.lineWidth = num(p.width, 3);
      ctx.lineCap = ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(num(points[0][0]), num(points[0][1]));
      for (const [x, y] of points.slice(1)) ctx.lineTo(num(x), num(y));
      ctx.stroke();
      return;
    }
    case "rect":
      ctx.lineWidth = 3;
      ctx.strokeRect(num(p.x), num(p.y), num(p.w ?? p.width), num(p.h ?? p.height));
      return;
    case "text":
      ctx.font = `${num(p.size, 28)}px system-ui, sans-serif`;
      ctx.textBaseline = "top";
      ctx.fillText(str(p.text, ""), num(p.x), num(p.y));
      return;
    default:
      // Kinds this client does not draw (images, others' custom kinds): a dashed outline.
      ctx.setLineDash([6, 6]);
      ctx.strokeRect(num(p.x), num(p.y), num(p.w ?? p.width, 40), num(p.h ?? p.height, 40));
      ctx.setLineDash([]);
  }
}

function hits(object: BoardObject, x: number, y: number, ctx: CanvasRenderingContext2D): boolean {
  const p = object.props;
  const slack = 10;
  switch (object.kind) {
    case "stroke": {
      const points = Array.isArray(p.points) ? (p.points as Array<[number, number]>) : [];
      const reach = num(p.width, 3) / 2 + slack;
      return points.some(([px, py]) => Math.hypot(num(px) - x, num(py) - y) <= reach);
    }
    case "text": {
      ctx.font = `${num(p.size, 28)}px system-ui, sans-serif`;
      const width = ctx.measureText(str(p.text, "")).width;
      return x >= num(p.x) - slack && x <= num(p.x) + width + slack && y >= num(p.y) - slack && y <= num(p.y) + num(p.size, 28) + slack;
    }
    default: {
      const w = num(p.w ?? p.width, 40);
      const hgt = num(p.h ?? p.height, 40);
      return x >= num(p.x) - slack && x <= num(p.x) + w + slack && y >= num(p.y) - slack && y <= num(p.y) + hgt + slack;
    }
  }
}
