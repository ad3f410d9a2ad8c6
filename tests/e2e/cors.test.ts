import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { activeLesson } from "../support/lesson";
import { startTestServer, type TestServer } from "../support/test-server";

// CORS_ORIGINS (HARDENING.md, README "Configuration"): the browser apps of the listed origins
// may call /graphql and fetch the board downloads; any other origin gets no CORS header, so
// the browser keeps the answer from its page.

const ALLOWED = "https://app.example.test";
const ALSO_ALLOWED = "https://admin.example.test";
const FOREIGN = "https://evil.example.test";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with node:http (fetch would not let a test choose the Origin header freely). */
function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const preflight = (url: string, origin: string) =>
  request(url, "OPTIONS", {
    origin,
    "access-control-request-method": url.includes("/export/") ? "GET" : "POST",
    "access-control-request-headers": "authorization, content-type",
  });

const varies = (answer: Answer) =>
  String(answer.headers.vary ?? "")
    .split(",")
    .map((v) => v.trim().toLowerCase());

/** The CORS headers an allowed origin gets on an actual (non-preflight) answer. */
function assertAllowed(answer: Answer, origin: string) {
  assert.equal(answer.headers["access-control-allow-origin"], origin, JSON.stringify(answer.headers));
  assert.equal(answer.headers["access-control-allow-credentials"], "true");
  assert.ok(varies(answer).includes("origin"), `Vary: ${answer.headers.vary}`);
}

function assertPreflightAllowed(answer: Answer, origin: string, method: string) {
  assert.equal(answer.status, 204, answer.body);
  assert.equal(answer.headers["access-control-allow-origin"], origin);
  assert.ok(String(answer.headers["access-control-allow-methods"]).split(/,\s*/).includes(method), String(answer.headers["access-control-allow-methods"]));
  const allowedHeaders = String(answer.headers["access-control-allow-headers"]).toLowerCase().split(/,\s*/);
  for (const header of ["authorization", "content-type"]) assert.ok(allowedHeaders.includes(header), allowedHeaders.join());
}

function assertNoCors(answer: Answer) {
  for (const name of Object.keys(answer.headers)) assert.ok(!name.startsWith("access-control-"), `${name} sent to a foreign origin`);
}

for (const backend of backends) {
  describe(`CORS_ORIGINS on /graphql and the board downloads [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;
    let exportUrl: string;
    let token: string;
    before(async () => {
      server = await startTestServer(backend, { env: { CORS_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}` } });
      const { tutor, sessionId } = await activeLesson(server, 0);
      token = tutor.token;
      exportUrl = `${server.url}/export/sessions/${sessionId}/board`;
    });
    after(() => server?.stop());

    const post = (origin: string) =>
      request(
        server.graphqlUrl,
        "POST",
        { origin, "content-type": "application/json", authorization: `Bearer ${token}` },
        JSON.stringify({ query: "{ me { id } }" }),
      );

    it("answers each allowed origin's POST with its CORS headers, and its preflight with 204", async () => {
      for (const origin of [ALLOWED, ALSO_ALLOWED]) {
        const answer = await post(origin);
        assert.equal(answer.status, 200, answer.body);
        assert.ok(JSON.parse(answer.body).data.me.id);
        assertAllowed(answer, origin);
        assertPreflightAllowed(await preflight(server.graphqlUrl, origin), origin, "POST");
      }
    });

    it("gives a foreign origin no CORS header, on the answer or on its preflight", async () => {
      const answer = await post(FOREIGN);
      assertNoCors(answer);
      // The answer still says it depends on Origin, so no cache hands it to an allowed one.
      assert.ok(varies(answer).includes("origin"), `Vary: ${answer.headers.vary}`);
      assertNoCors(await preflight(server.graphqlUrl, FOREIGN));
    });

    it("lets an allowed origin download a board (preflight, then GET with the file name exposed)", async () => {
      assertPreflightAllowed(await preflight(exportUrl, ALLOWED), ALLOWED, "GET");
      const download = await request(exportUrl, "GET", { origin: ALLOWED, authorization: `Bearer ${token}` });
      assert.equal(download.status, 200, download.body);
      assert.ok(JSON.parse(download.body));
      assertAllowed(download, ALLOWED);
      assert.match(String(download.headers["content-disposition"]), /^attachment; filename="/);
      assert.ok(String(download.headers["access-control-expose-headers"]).toLowerCase().split(/,\s*/).includes("content-disposition"));
      // The download's own Vary stays beside Origin's.
      for (const header of ["accept-encoding", "authorization"]) assert.ok(varies(download).includes(header), `Vary: ${download.headers.vary}`);
    });

    it("gives a foreign origin no CORS header on a download or its preflight", async () => {
      const download = await request(exportUrl, "GET", { origin: FOREIGN, authorization: `Bearer ${token}` });
      assert.equal(download.status, 200); // a browser keeps it from the page; a server-side client may fetch it
      assertNoCors(download);
      assertNoCors(await preflight(exportUrl, FOREIGN));
    });
  });
}
