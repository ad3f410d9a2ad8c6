import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const root = path.resolve(__dirname, "../../..");

/**
 * The frontend's operation types (web/src/generated/graphql.ts) are what GraphQL Code Generator
 * makes now from schema.graphql and web/src/graphql/*.graphql: a schema change that breaks an
 * operation, or one nobody regenerated for, fails here (and `npm run build` type-checks web/
 * against the generated types).
 */
test("the frontend's generated GraphQL types are current", async () => {
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, [path.join(root, "scripts/codegen.mjs"), "--check"], { cwd: root }).catch(
    (err: { stderr?: string; stdout?: string }) => {
      assert.fail(`${err.stderr ?? ""}${err.stdout ?? ""}`.trim() || String(err));
    },
  );
  assert.match(stdout, /is current/);
});
