#!/usr/bin/env node
// Builds the frontend (web/) into dist/web, as part of `npm run build` (so `npm start` and
// `npm test` always serve a current bundle; nothing built is committed):
//   1. type-checks web/ against the generated operation types (web/tsconfig.json), so a
//      schema change that breaks the frontend fails the build;
//   2. bundles web/src/main.ts with esbuild into dist/web/assets/app.js (local assets only:
//      the server's CSP allows no other origin);
//   3. copies index.html and app.css beside it.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "dist/web");
const require = createRequire(import.meta.url);

try {
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "web/tsconfig.json")], { stdio: "inherit" });
} catch {
  console.error("build-web: web/ does not type-check (see above)");
  process.exit(1);
}
mkdirSync(path.join(out, "assets"), { recursive: true });
await build({
  entryPoints: [path.join(root, "web/src/main.ts")],
  outfile: path.join(out, "assets/app.js"),
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2022"],
  platform: "browser",
  legalComments: "linked",
  logLevel: "warning",
  // urql and graphcache drop their development warnings in a production build.
  define: { "process.env.NODE_ENV": '"production"' },
});
copyFileSync(path.join(root, "web/index.html"), path.join(out, "index.html"));
copyFileSync(path.join(root, "web/app.css"), path.join(out, "assets/app.css"));
