import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

for (const backend of backends) {
  describe(`automatic persisted queries over HTTP [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let token: string;
    before(async () => {
      server = await startTestServer(backend);
      token = (await registerUser(server)).token;
    });
    after(() => server?.stop());

    async function post(body: unknown) {
      const res = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> } };
    }

    it("asks for the query behind an unknown hash, then answers the hash alone (POST and GET)", async () => {
      const query = `query Me { me { id displayName } }`;
      const persistedQuery = { version: 1, sha256Hash: sha256(query) };
      const miss = await post({ extensions: { persistedQuery } });
      assert.equal(miss.status, 200, JSON.stringify(miss.body));
      assert.equal(miss.body.errors?.[0].extensions?.code, "PERSISTED_QUERY_NOT_FOUND", JSON.stringify(miss.body));

      const registered = await post({ query, extensions: { persistedQuery } });
      assert.ok(registered.body.data?.me?.id, JSON.stringify(registered.body));

      const hit = await post({ extensions: { persistedQuery } });
      assert.deepEqual(hit.body, registered.body);

      // GET, as a CDN-cached mobile client sends it (a preflight header: CSRF prevention).
      const url = `${server.graphqlUrl}?extensions=${encodeURIComponent(JSON.stringify({ persistedQuery }))}`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "true" } });
      assert.deepEqual(await res.json(), registered.body);
    });

    it("refuses a query sent under another query's hash, and stores nothing for it", async () => {
      const hash = sha256(`{ __typename }`);
      const wrong = await post({ query: `{ me { id } }`, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      assert.equal(wrong.status, 400, JSON.stringify(wrong.body));
      assert.equal(wrong.body.errors?.[0].extensions?.code, "BAD_REQUEST");
      const after = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      assert.equal(after.body.errors?.[0].extensions?.code, "PERSISTED_QUERY_NOT_FOUND", JSON.stringify(after.body));
    });
  });
}
