import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "graphql-ws";
import WebSocket from "ws";
import { backends } from "../support/backends";
import { PROTOCOL, rawSocket, terminateRawSockets } from "../support/raw-socket";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";

/** How a connection ends up: acknowledged, or closed with a code first. */
function outcome(client: Client): Promise<"connected" | number> {
  return new Promise((resolve) => {
    client.on("connected", () => resolve("connected"));
    client.on("closed", (event) => resolve((event as { code: number }).code));
  });
}

/** The answer to an upgrade that was refused: its status and error code (fails if the socket opened). */
function refusedUpgrade(server: TestServer, headers: Record<string, string> = {}): Promise<{ status: number; code: string }> {
  const ws = new WebSocket(server.wsUrl, [PROTOCOL], { headers });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.terminate();
      reject(new Error("the upgrade was accepted"));
    });
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, code: JSON.parse(body).errors[0].extensions.code }));
    });
    ws.once("error", () => undefined); // reported by unexpected-response
  });
}

const RATE_LIMITED = { status: 429, code: "RATE_LIMITED" };

for (const backend of backends) {
  describe(`WebSocket connections per client address, before authentication [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(backend, { env: { WS_PENDING_PER_IP: "2", WS_NEW_PER_IP_PER_MINUTE: "6", TRUST_PROXY: "loopback" } });
    });
    after(async () => {
      terminateRawSockets();
      await server?.stop();
    });

    it("answers 429 past WS_PENDING_PER_IP sockets without connection_init, and again once one of them sends it (issue 11, finding 1)", async () => {
      const user = await registerUser(server, "STUDENT");
      const [first, second] = [await rawSocket(server), await rawSocket(server)];
      assert.deepEqual(await refusedUpgrade(server), RATE_LIMITED);
      // Another address behind the trusted proxy is not held back by this one's sockets.
      const elsewhere = await rawSocket(server, { headers: { "X-Forwarded-For": "203.0.113.7" } });
      first.send({ type: "connection_init", payload: { authorization: `Bearer ${user.token}` } });
      assert.equal((await first.next()).type, "connection_ack");
      await rawSocket(server); // the acknowledged one no longer counts
      for (const socket of [first, second, elsewhere]) socket.ws.terminate();
    });

    it("answers 429 past WS_NEW_PER_IP_PER_MINUTE new sockets, closed or not; another address goes on", async () => {
      const forwarded = { "X-Forwarded-For": "198.51.100.4" };
      for (let i = 0; i < 6; i++) (await rawSocket(server, { headers: forwarded })).ws.terminate();
      assert.deepEqual(await refusedUpgrade(server, forwarded), RATE_LIMITED);
      (await rawSocket(server, { headers: { "X-Forwarded-For": "198.51.100.5" } })).ws.terminate();
    });
  });

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
