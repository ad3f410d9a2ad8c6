/**
 * The architecture's rules, checked on the source (ARCHITECTURE.md "Architecture", README
 * "Layout"): no import cycle (type-only imports included: a cycle of types is still two
 * modules that cannot be understood apart), layers that only look down, a pure board
 * engine, and authorization decided in src/auth only.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";

const root = path.resolve(__dirname, "../../..");
const src = path.join(root, "src");

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(file) : e.name.endsWith(".ts") ? [file] : [];
  });
}

/** The src files `file` imports (import, import type, export … from, import()), as paths relative to src; files outside src are left out. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.[^"']*)["']/g)].map((m) => m[1]);
  return specifiers
    .map((spec) => {
      const base = path.resolve(path.dirname(file), spec);
      const found = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
      assert.ok(found, `${path.relative(src, file)} imports ${spec}, which is no source file`);
      return path.relative(src, found);
    })
    .filter((dep) => !dep.startsWith(".."));
}

const graph = new Map(sourceFiles(src).map((file) => [path.relative(src, file), importsOf(file)]));

/** Strongly connected components with more than one module (Tarjan), or a module importing itself. */
function cycles(): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

/** Imports from a module of folder `from` into one of the folders in `forbidden`. */
function importsAcross(from: string, forbidden: string[]): string[] {
  return [...graph].flatMap(([file, deps]) =>
    file.startsWith(`${from}/`) ? deps.filter((d) => forbidden.some((f) => d.startsWith(`${f}/`))).map((d) => `${file} → ${d}`) : [],
  );
}

describe("architecture", () => {
  it("has no import cycle in src, type-only imports included", () => {
    assert.deepEqual(cycles(), []);
  });

  it("keeps layers one-way: infra, db, board, entities, realtime and auth know no service, resolver or transport", () => {
    const above = ["services", "resolvers", "http", "transports", "jobs"];
    const crossings = ["infra", "db", "board", "entities", "realtime", "auth"].flatMap((layer) => importsAcross(layer, above));
    assert.deepEqual(crossings, [], "a lower layer imports from a layer above it");
    assert.deepEqual(importsAcross("services", ["resolvers", "http", "transports"]), [], "services import a resolver or transport");
    assert.deepEqual(importsAcross("resolvers", ["http", "transports"]), [], "resolvers import a transport");
  });

  it("decides authorization in src/auth only: no role, host or permission test and no FORBIDDEN elsewhere", () => {
    const decisions = [/\bforbidden\(/, /UserRole\.(ADMIN|TUTOR)\b/, /\baccess\??\.(isHost|isAdmin|kicked|permissions)\b/];
    const found = [...graph.keys()]
      .filter((file) => !file.startsWith("auth/") && !file.startsWith("cli/"))
      .flatMap((file) =>
        fs
          .readFileSync(path.join(src, file), "utf8")
          .split("\n")
          .flatMap((line, i) => (decisions.some((d) => d.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
      );
    assert.deepEqual(found, []);
  });

  it("keeps every service file under 300 lines: one job per room", () => {
    const long = [...graph.keys()]
      .filter((file) => file.startsWith("services/"))
      .map((file) => ({ file, lines: fs.readFileSync(path.join(src, file), "utf8").split("\n").length }))
      .filter(({ lines }) => lines > 300);
    assert.deepEqual(long, []);
  });

  it("keeps the board engine pure: it imports nothing outside src/board", () => {
    const outside = [...graph].flatMap(([file, deps]) => (file.startsWith("board/") ? deps.filter((d) => !d.startsWith("board/")) : []));
    assert.deepEqual(outside, []);
    for (const file of sourceFiles(path.join(src, "board"))) {
      const packages = [...fs.readFileSync(file, "utf8").matchAll(/\bfrom\s*["']([^."'][^"']*)["']/g)].map((m) => m[1]);
      assert.deepEqual(
        packages.filter((p) => !p.startsWith("node:crypto")),
        [],
        `${path.relative(src, file)} imports a package`,
      );
    }
  });
});
