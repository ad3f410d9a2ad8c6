import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { auditServer } from "graphql-http";
import { embedded } from "../support/backends";
import { startTestServer, type TestServer } from "../support/test-server";

// The transport is the same whichever database is behind it: one backend is enough.
describe("GraphQL over HTTP conformance (graphql-http audit suite)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(embedded);
  });
  after(() => server?.stop());

  it("passes every MUST of the specification", async () => {
    const results = await auditServer({ url: server.graphqlUrl });
    const mustFailures = results.filter((r) => r.status !== "ok" && r.name.startsWith("MUST"));
    const others = results.filter((r) => r.status !== "ok" && !r.name.startsWith("MUST"));
    for (const r of others) console.log(`graphql-http ${r.status}: ${r.name}`);
    assert.deepEqual(
      mustFailures.map((r) => `${r.name}: ${"reason" in r ? r.reason : ""}`),
      [],
    );
    assert.ok(results.length > 20, `only ${results.length} audits ran`);
  });
});
