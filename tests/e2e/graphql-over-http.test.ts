import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { auditServer } from "graphql-http";
import { embedded } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

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

// A document is interpreted by graphql-js on its first execution and compiled (graphql-jit)
// from its second: a client must not see which one ran.
describe("a document run again and again over HTTP", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(embedded);
  });
  after(() => server?.stop());

  /** Each of `runs` answers of the same request: status and body. */
  async function answers(runs: number, query: string, variables: Record<string, unknown>, token?: string) {
    const out = [];
    for (let i = 0; i < runs; i++) {
      const res = await server.gql(query, variables, token);
      out.push({ status: res.status, body: res.body });
    }
    return out;
  }

  it("answers its data, a domain error, a variable it cannot coerce and a nested error the same on every run", async () => {
    const user = await registerUser(server, "TUTOR");
    const ME = `query { me { id displayName role } }`;
    const [me, ...meAgain] = await answers(3, ME, {}, user.token);
    assert.equal(me.body.data?.me.id, user.id);
    for (const again of meAgain) assert.deepEqual(again, me);

    const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`;
    const taken = { input: { email: user.email, password: "correct horse battery staple", displayName: "Again", role: "STUDENT" } };
    const [conflict, ...conflictAgain] = await answers(3, REGISTER, taken);
    assert.equal(conflict.body.errors?.[0].extensions?.code, "CONFLICT");
    assert.deepEqual(conflict.body.errors?.[0].path, ["register"]);
    for (const again of conflictAgain) assert.deepEqual(again, conflict);

    const [badVariable, ...badAgain] = await answers(3, REGISTER, { input: { email: "x@example.test" } });
    assert.equal(badVariable.status, 400);
    assert.equal(badVariable.body.errors?.[0].extensions?.code, "BAD_USER_INPUT");
    for (const again of badAgain) assert.deepEqual(again, badVariable);
    // A list where an input object of optional fields belongs: graphql-jit's own coercion would
    // take it for an empty object and run the mutation.
    const UPDATE = `mutation($id: ID!, $input: UpdateSessionInput!) { updateSession(id: $id, input: $input) { id } }`;
    const [aList, ...aListAgain] = await answers(3, UPDATE, { id: "00000000-0000-4000-8000-000000000000", input: [] }, user.token);
    assert.equal(aList.status, 400);
    assert.equal(aList.body.errors?.[0].extensions?.code, "BAD_USER_INPUT");
    for (const again of aListAgain) assert.deepEqual(again, aList);

    // An error in a non-null root field: its path, and data null for the whole operation.
    const BOOKINGS = `query($after: String) { me { id } myBookings(after: $after) { pageInfo { hasNextPage } } }`;
    const [missing, ...missingAgain] = await answers(3, BOOKINGS, { after: "not a cursor" }, user.token);
    assert.equal(missing.body.data, null);
    assert.deepEqual(missing.body.errors?.[0].path, ["myBookings"]);
    assert.equal(missing.body.errors?.[0].extensions?.code, "BAD_USER_INPUT");
    for (const again of missingAgain) assert.deepEqual(again, missing);

    // An operation name the document lacks runs nothing, whichever executor would have run it.
    const RENAME = JSON.stringify({ query: `mutation Rename { updateProfile(input: { displayName: "Renamed" }) { id } }`, operationName: "Other" });
    const refusals: Array<{ status: number; body: any }> = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
        body: RENAME,
      });
      refusals.push({ status: res.status, body: await res.json() });
    }
    assert.equal(refusals[0].status, 400);
    assert.equal(refusals[0].body.errors?.[0].extensions?.code, "BAD_REQUEST");
    for (const again of refusals.slice(1)) assert.deepEqual(again, refusals[0]);
    assert.equal((await server.gql(ME, {}, user.token)).body.data?.me.displayName, me.body.data?.me.displayName);
  });
});
