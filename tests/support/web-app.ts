import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";

/* Helpers of the browser tests of the web app (web/, served at /app). */

/** Where this run's screenshots go: TEST_OUTPUT_DIR or test-results/web-app (gitignored). */
export function screenshotPath(name: string): string {
  const dir = path.join(process.env.TEST_OUTPUT_DIR ?? path.resolve(__dirname, "../../../test-results"), "web-app");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** A board as the app's debug hook reports it (web/src/board/model.ts boardContent). */
export interface BoardContent {
  layers: Array<{ id: string; name: string }>;
  objects: Record<string, { kind: string; layerId: string; props: Record<string, unknown> }>;
}

/** `value` with object keys sorted (as the app's boardContent does: jsonb reorders keys). */
function canonical(value: unknown): unknown {
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

/** boardContent for a BoardState read from the API. */
export function contentOf(state: {
  layers: Array<{ id: string; name: string }>;
  objects: Record<string, { kind: string; layerId: string; props: Record<string, unknown> }>;
}): BoardContent {
  const objects: BoardContent["objects"] = {};
  for (const id of Object.keys(state.objects).sort()) {
    const { kind, layerId, props } = state.objects[id];
    objects[id] = { kind, layerId, props: canonical(props) as Record<string, unknown> };
  }
  return { layers: state.layers.map(({ id, name }) => ({ id, name })), objects };
}

/** The page's board (window.__board, set by the lesson view). */
export async function boardOf(page: Page): Promise<{ version: number; lastSeq: number; content: BoardContent }> {
  return (await page.evaluate("window.__board && window.__board()")) as { version: number; lastSeq: number; content: BoardContent };
}

/** Resolves when the page's board has `count` objects, or fails after `timeout` ms. */
export async function waitForObjects(page: Page, count: number, timeout = 10_000): Promise<void> {
  // A function, not a string: the app's CSP has no 'unsafe-eval'.
  await page.waitForFunction(
    (n) => {
      const board = (globalThis as any).__board?.();
      return !!board && Object.keys(board.content.objects).length === n;
    },
    count,
    { timeout, polling: 20 },
  );
}

/** Draws a stroke with the mouse between board-relative points (fractions of the canvas). */
export async function drawStroke(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  await page.locator('[data-tool="pen"]').click();
  const box = (await page.getByTestId("board-canvas").boundingBox())!;
  const at = ([fx, fy]: [number, number]) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  await page.mouse.move(...at(from));
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) await page.mouse.move(...at([from[0] + ((to[0] - from[0]) * i) / 8, from[1] + ((to[1] - from[1]) * i) / 8]));
  await page.mouse.up();
}

/**
 * Records what should fail the test: page errors, CSP violations, requests to other hosts.
 * (Console errors from requests cut while offline are expected and not recorded.)
 */
export async function watch(page: Page, origin: URL, problems: string[]): Promise<void> {
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && m.text().startsWith("CSP violation")) problems.push(m.text());
  });
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (["http:", "https:", "ws:", "wss:"].includes(u.protocol) && u.host !== origin.host) problems.push(`request to ${r.url()}`);
  });
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));`,
  });
}

/** Signs in through the app's first screen (the sign-in form, submitted with Enter). */
export async function signIn(page: Page, url: string, email: string, password: string): Promise<void> {
  await page.goto(`${url}/app`);
  await page.locator('input[type="email"]').fill(email);
  await page.locator('input[type="password"]').fill(password);
  await page.locator('input[type="password"]').press("Enter");
  await page.getByTestId("me").waitFor();
}

/** The notice a person reads after their last action (role="alert"), once it contains `text`. */
export async function noticeText(page: Page, text: RegExp): Promise<string> {
  const notice = page.locator("#notice", { hasText: text });
  await notice.waitFor();
  return (await notice.textContent()) ?? "";
}
