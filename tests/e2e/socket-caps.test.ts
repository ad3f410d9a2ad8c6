import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "graphql-ws";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

/** How a connection ends up: acknowledged, or closed with a code first. */
function outcome(client: Client): Promise<"connected" | number> {
  return new Promise((resolve) => {
    client.on("connected", () => resolve("connected"));
    client.on("closed", (event) => resolve((event as { code: number }).code));
  });
}

for (const backend of backends) {
  describe(`WebSocket connections per user [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { MAX_SOCKETS_PER_USER: "2" } });
    });
    after(() => server?.stop());

    it("closes the newest socket of a user past MAX_SOCKETS_PER_USER with 4429; the others, and other users, go on (issue 11, finding 1)", async () => {
      const [ann, bob] = await Promise.all([registerUser(server, "STUDENT"), registerUser(server, "STUDENT")]);
      const first = server.wsClient(ann.token);
      const second = server.wsClient(ann.token);
      assert.deepEqual(await Promise.all([outcome(first), outcome(second)]), ["connected", "connected"]);
      const third = server.wsClient(ann.token);
      assert.equal(await outcome(third), 4429);
      assert.equal(await outcome(server.wsClient(bob.token)), "connected");
      // The two still answer.
      for (const client of [first, second]) {
        const answer = await new Promise<any>((resolve, reject) => {
          client.subscribe({ query: "{ me { id } }" }, { next: resolve, error: reject, complete: () => undefined });
        });
        assert.equal(answer.data.me.id, ann.id);
      }
    });
  });
}
