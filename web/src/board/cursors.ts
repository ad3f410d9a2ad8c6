import { h } from "../dom";
import { BOARD_HEIGHT, BOARD_WIDTH } from "./canvas";

/** Other people's cursors over the board, each with its owner's name, placed in board coordinates. */
export class CursorLayer {
  readonly element = h("div", { class: "cursors", "aria-hidden": "true" });
  private readonly cursors = new Map<string, HTMLElement>();

  place(userId: string, name: string, x: number, y: number, color: string | null): void {
    let el = this.cursors.get(userId);
    if (!el) {
      el = h("div", { class: "cursor", "data-cursor-user": userId }, h("span", { class: "cursor-name" }));
      this.cursors.set(userId, el);
      this.element.append(el);
    }
    el.querySelector(".cursor-name")!.textContent = name;
    // Percentages, so the cursor stays on its spot whatever the board's size on this screen.
    el.style.left = `${(x / BOARD_WIDTH) * 100}%`;
    el.style.top = `${(y / BOARD_HEIGHT) * 100}%`;
    el.style.borderColor = color ?? "#888";
  }

  drop(userId: string): void {
    this.cursors.get(userId)?.remove();
    this.cursors.delete(userId);
  }

  /** Drops the cursors of everyone not in `online`. */
  keepOnly(online: readonly string[]): void {
    for (const userId of [...this.cursors.keys()]) if (!online.includes(userId)) this.drop(userId);
  }
}
