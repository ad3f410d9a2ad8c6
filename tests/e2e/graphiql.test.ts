import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { graphiqlCsp } from "../../src/http/graphiql";
import { buildGraphQLSchema } from "../../src/schema/build-schema";
import { embedded } from "../support/backends";
import { browserAvailable, launchBrowser } from "../support/browser";
import { registerUser, startTestServer } from "../support/test-server";

/** A running server under test: base URL (`http://127.0.0.1:<port>`), a signed-in user, a way to stop it. */
interface ServerUnderTest {
  url: string;
  token: string;
  displayName: string;
  close(): Promise<void>;
}

/**
 * Where the screenshot `name` goes: the run's output folder, TEST_OUTPUT_DIR or test-results/ at
 * the project's root (kept out of git), so a person can look at what the browser showed.
 */
function screenshotPath(name: string): string {
  const dir = process.env.TEST_OUTPUT_DIR ?? path.resolve(__dirname, "../../../test-results");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** A description as GraphiQL's docs explorer shows it: markdown code spans as plain text, spaces collapsed. */
const shownText = (markdown: string) => markdown.replace(/`/g, "").replace(/\s+/g, " ").trim();

/** The real server on the embedded default, with one registered user. */
async function startServer(): Promise<ServerUnderTest> {
  const server = await startTestServer(embedded);
  const displayName = "grace";
  const user = await registerUser(server, "TUTOR", displayName);
  return { url: server.url, token: user.token, displayName, close: () => server.stop() };
}

describe("GraphiQL router (HTTP)", () => {
  let srv: ServerUnderTest;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.close();
  });

  test("serves the page with a CSP to browsers only", async () => {
    const html = await fetch(`${srv.url}/graphql`, { headers: { accept: "text/html,*/*;q=0.8" } });
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
    const host = new URL(srv.url).host;
    const csp = html.headers.get("content-security-policy") ?? "";
    assert.equal(csp, graphiqlCsp(host));
    // Sockets to this host only (not any ws:/wss: URL), and no site may frame the page.
    assert.match(csp, new RegExp(`(^|; )connect-src 'self' ws://${host.replace(/\./g, "\\.")} wss://${host.replace(/\./g, "\\.")}(;|$)`));
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
    assert.doesNotMatch(graphiqlCsp('evil.example"; script-src *'), /evil/, "a forged Host header names no host");
    const body = await html.text();
    for (const asset of ["react.js", "react-dom.js", "graphiql.js", "graphql-ws.js", "app.js", "graphiql.css"]) {
      assert.ok(body.includes(`/graphiql/${asset}"`), `page references ${asset}`);
    }
    assert.doesNotMatch(body, /<script>|<script [^>]*>[^<]/, "no inline scripts");
    assert.doesNotMatch(body, /https?:\/\//, "no absolute (CDN) URLs");

    for (const [accept, qs] of [
      ["application/json", ""],
      ["application/graphql-response+json, text/html;q=0.9", ""],
      ["text/html", "?query=%7B__typename%7D"],
    ]) {
      const res = await fetch(`${srv.url}/graphql${qs}`, { headers: { accept } });
      assert.doesNotMatch(res.headers.get("content-type") ?? "", /text\/html/, `${accept} ${qs} falls through`);
      await res.arrayBuffer();
    }
  });

  test("serves local assets with content types and caching", async () => {
    const expected: Record<string, RegExp> = {
      "react.js": /^text\/javascript/,
      "react-dom.js": /^text\/javascript/,
      "graphiql.js": /^text\/javascript/,
      "graphql-ws.js": /^text\/javascript/,
      "app.js": /^text\/javascript/,
      "graphiql.css": /^text\/css/,
    };
    for (const [name, type] of Object.entries(expected)) {
      const res = await fetch(`${srv.url}/graphiql/${name}`);
      assert.equal(res.status, 200, name);
      assert.match(res.headers.get("content-type") ?? "", type, name);
      assert.equal(res.headers.get("cache-control"), "public, max-age=86400", name);
      const text = await res.text();
      assert.ok(text.length > 100, `${name} has content`);
      assert.doesNotMatch(text, /sourceMappingURL/, `${name} has no dangling source map reference`);
    }
    const missing = await fetch(`${srv.url}/graphiql/nope.js`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  });
});

describe("GraphiQL in the browser", { skip: !browserAvailable() && "chromium not installed (/usr/bin/chromium)" }, () => {
  let srv: ServerUnderTest;
  let browser: Browser;
  before(async () => {
    [srv, browser] = await Promise.all([startServer(), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  /**
   * Opens GraphiQL in a fresh context and records anything that should fail the
   * test: requests to other hosts, console errors, page errors, CSP violations.
   */
  async function openGraphiQL(): Promise<{ page: Page; problems: string[]; wsUrls: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const origin = new URL(srv.url);
    const problems: string[] = [];
    const wsUrls: string[] = [];
    const checkUrl = (kind: string, raw: string) => {
      const u = new URL(raw);
      const local = ["http:", "https:", "ws:", "wss:"].includes(u.protocol) ? u.host === origin.host : ["data:", "blob:", "about:"].includes(u.protocol);
      if (!local) problems.push(`${kind} to foreign URL: ${raw}`);
    };
    page.on("request", (r) => checkUrl("request", r.url()));
    page.on("websocket", (ws) => {
      wsUrls.push(ws.url());
      checkUrl("websocket", ws.url());
    });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // Collected in the page: CSP violations (e.g. a needed 'unsafe-eval' or inline style).
    // (A string, as the project compiles without the DOM lib.)
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) => console.error(
        'CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI + ' (' + e.sourceFile + ':' + e.lineNumber + ')'));`,
    });

    const introspected = page.waitForResponse((r) => r.request().method() === "POST" && (r.request().postData() ?? "").includes("IntrospectionQuery"));
    const res = await page.goto(`${srv.url}/graphql`);
    assert.equal(res?.status(), 200);
    const introspection = await introspected;
    assert.equal(introspection.status(), 200);
    assert.ok(((await introspection.json()) as { data?: { __schema?: unknown } }).data?.__schema, "schema introspected");
    await page.locator(".graphiql-query-editor .CodeMirror").waitFor();
    return { page, problems, wsUrls };
  }

  async function setEditor(page: Page, selector: string, value: string): Promise<void> {
    const editor = page.locator(selector);
    await editor.waitFor();
    await editor.evaluate((el, v) => (el as unknown as { CodeMirror: { setValue(s: string): void } }).CodeMirror.setValue(v), value);
  }

  async function run(page: Page, expected: string): Promise<string> {
    await page.locator(".graphiql-execute-button").click();
    const result = page.locator(".result-window", { hasText: expected });
    try {
      await result.waitFor({ timeout: 15_000 });
    } catch (err) {
      const actual = await page.locator(".result-window").textContent();
      throw new Error(`result never contained ${JSON.stringify(expected)}; result pane: ${JSON.stringify(actual)}`, { cause: err });
    }
    return (await result.textContent()) ?? "";
  }

  test("loads from local assets and runs a query", async () => {
    const { page, problems } = await openGraphiQL();
    await setEditor(page, ".graphiql-query-editor .CodeMirror", "{ __typename }");
    const text = await run(page, '"Query"');
    assert.match(text, /"__typename":\s*"Query"/);

    await page.screenshot({ path: screenshotPath("graphiql-query.png") });

    // Dialogs inject a <style> element: exercises style-src 'unsafe-inline' in the CSP.
    await page.getByRole("button", { name: /settings/i }).click();
    await page.getByRole("dialog").waitFor();
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test("sends header-editor headers over HTTP and as WebSocket connectionParams", async () => {
    const { page, problems, wsUrls } = await openGraphiQL();
    await page.getByRole("button", { name: "Headers", exact: true }).click();
    await setEditor(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror", `{ "Authorization": "Bearer ${srv.token}" }`);

    await setEditor(page, ".graphiql-query-editor .CodeMirror", "{ me { email } }");
    assert.match(await run(page, "example.test"), /"email":\s*"grace@example.test"/);

    // Last, as it stays open: over graphql-ws the socket is authenticated with the editor's
    // header (without it the server closes 4401).
    await setEditor(page, ".graphiql-query-editor .CodeMirror", "subscription { myProfile { displayName } }");
    assert.match(await run(page, srv.displayName), /"displayName":\s*"grace"/);
    assert.deepEqual(wsUrls, [`${srv.url.replace(/^http/, "ws")}/graphql`]);

    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test("documents the API in the docs explorer: a mutation's description with its error codes", async () => {
    const schema = await buildGraphQLSchema();
    const mutations = schema.getMutationType()!;
    const joinSession = mutations.getFields().joinSession.description ?? "";
    assert.match(joinSession, /SESSION_FULL/, "joinSession's description lists its error codes");

    const { page, problems } = await openGraphiQL();
    await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
    const explorer = page.locator(".graphiql-doc-explorer");
    const title = explorer.locator(".graphiql-doc-explorer-title");
    const description = explorer.locator(".graphiql-doc-explorer-content > .graphiql-markdown-description");

    // Docs → Mutation: the root type's description says what holds for every mutation.
    await explorer.getByRole("link", { name: "Mutation", exact: true }).click();
    await title.filter({ hasText: /^Mutation$/ }).waitFor();
    assert.equal(shownText(await description.innerText()), shownText(mutations.description ?? ""));

    // Mutation → joinSession: who may call it and what it answers.
    await explorer.getByRole("link", { name: "joinSession", exact: true }).click();
    await title.filter({ hasText: /^joinSession$/ }).waitFor();
    await description.waitFor({ state: "visible" });
    const shown = shownText(await description.innerText());
    assert.equal(shown, shownText(joinSession));
    assert.match(shown, /CONFLICT \(extensions\.reason SESSION_FULL\)/);
    assert.ok(await description.filter({ hasText: "SESSION_FULL" }).isVisible(), "the error code is on screen");

    await page.screenshot({ path: screenshotPath("graphiql-docs-joinSession.png") });
    assert.deepEqual(problems, []);
    await page.context().close();
  });
});
