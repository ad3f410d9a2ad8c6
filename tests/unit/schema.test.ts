import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { printSchemaSDL } from "../../src/schema/build-schema";

const root = path.resolve(__dirname, "../../..");
const contractCheck = path.resolve(root, "../shared/tools/contract-check.mjs");

describe("schema.graphql", () => {
  it("is the schema the server builds (run `npm run schema` after changing the API)", async () => {
    const committed = fs.readFileSync(path.join(root, "schema.graphql"), "utf8");
    assert.equal(committed, await printSchemaSDL());
  });

  it(
    "contains the whole API contract: same names, arguments and nullability (contract-check --strict)",
    { skip: !fs.existsSync(contractCheck) && "no ../shared/tools" },
    (t) => {
      const run = spawnSync(process.execPath, [contractCheck, "schema.graphql", "--strict"], { cwd: root, encoding: "utf8" });
      const summary = run.stdout.trim().split("\n").pop() ?? "";
      t.diagnostic(`contract: ${summary}`);
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
      assert.match(summary, /\(100\.0%\)/);
    },
  );
});
