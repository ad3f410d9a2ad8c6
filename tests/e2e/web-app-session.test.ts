import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { embedded } from "../support/backends";
import { browserAvailable, launchBrowser } from "../support/browser";
import { ok } from "../support/assertions";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";
import { drawStroke, noticeText, screenshotPath, signIn, waitForObjects, watch } from "../support/web-app";

/**
 * The web app's sign-in over time and the errors a person meets: access tokens that live 6 s
 * are refreshed before they expire while a lesson stays live; a refused refresh signs out
 * with a message; SESSION_FULL, FORBIDDEN and RATE_LIMITED read as sentences. Embedded
 * backend only (see web-app.test.ts).
 */
describe("web app in the browser: tokens and error messages", { skip: !browserAvailable() && "chromium not installed (/usr/bin/chromium)" }, () => {
  /** Access tokens live 6 s here. */
  let shortTokens: TestServer;
  /** The default ACCESS_TOKEN_TTL: the error messages are checked without token churn. */
  let server: TestServer;
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    [shortTokens, server, browser] = await Promise.all([
      startTestServer(embedded, { env: { ACCESS_TOKEN_TTL: "6s" } }),
      startTestServer(embedded),
      launchBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await Promise.all([shortTokens?.stop(), server?.stop()]);
  });

  async function newPage(on: TestServer): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
    await watch(page, new URL(on.url), problems);
    return page;
  }

  /** A fresh access token for an API call. */
  async function tokenOf(user: { email: string; password: string }): Promise<string> {
    return ok(await server.gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, { e: user.email, p: user.password }))
      .login.accessToken;
  }

  const tokenIn = async (page: Page) =>
    (await page.evaluate("JSON.parse(localStorage.getItem('classroom.auth') || 'null')?.accessToken")) as string | undefined;

  test("a lesson stays live across token refreshes (before expiry); on 4401 it refreshes and resumes; a refused refresh signs out with a message", async () => {
    const tutor = await registerUser(shortTokens, "TUTOR", "terry");
    const page = await newPage(shortTokens);
    await signIn(page, shortTokens.url, tutor.email, tutor.password);
    await page.getByTestId("new-title").fill("Refreshing");
    await page.getByRole("button", { name: "Create" }).click();
    // The tutor's list of sessions has it, with its status.
    await page.getByRole("region", { name: "My sessions" }).getByRole("listitem").filter({ hasText: "Refreshing" }).filter({ hasText: "WAITING" }).waitFor();
    await page.getByTestId("open-created").click();
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByTestId("session-status").filter({ hasText: "ACTIVE" }).waitFor();

    // Two refreshes: the first token's 6 s are over and the page never saw a 4401.
    const first = await tokenIn(page);
    await page.waitForFunction((t) => JSON.parse((globalThis as any).localStorage.getItem("classroom.auth") ?? "null")?.accessToken !== t, first, {
      timeout: 10_000,
    });
    const second = await tokenIn(page);
    await page.waitForFunction((t) => JSON.parse((globalThis as any).localStorage.getItem("classroom.auth") ?? "null")?.accessToken !== t, second, {
      timeout: 10_000,
    });
    await page.locator('html[data-link="online"]').waitFor();
    // The app closes its own socket (4499, graphql-ws's "terminated") to reconnect with the new token.
    assert.notEqual(await page.evaluate("document.documentElement.dataset.lastClose ?? null"), "4401", "no socket was closed 4401");
    await drawStroke(page, [0.2, 0.2], [0.6, 0.5]);
    await waitForObjects(page, 1);
    await page.screenshot({ path: screenshotPath("tokens-1-refreshed.png") });

    // Refreshes held back: the socket's token expires and the server closes it 4401; the app
    // refreshes then (HTTP still takes the token within JWT_CLOCK_TOLERANCE) and the streams
    // come back: the board follows again.
    const isRefresh = (postData: string | null) => /refreshAccessToken/.test(postData ?? "");
    await page.route("**/graphql", (route) => (isRefresh(route.request().postData()) ? route.abort() : route.fallback()));
    await page.locator('html[data-last-close="4401"]').waitFor({ timeout: 15_000 });
    const refreshed = page.waitForResponse((r) => isRefresh(r.request().postData()) && r.status() === 200);
    await page.unroute("**/graphql");
    await refreshed;
    await page.locator('html[data-link="online"]').waitFor();
    await drawStroke(page, [0.3, 0.6], [0.8, 0.8]);
    await waitForObjects(page, 2);

    // A refused refresh (the sign-in chain is over) signs out and says why.
    await page.route("**/graphql", (route) =>
      isRefresh(route.request().postData())
        ? route.fulfill({
            contentType: "application/json",
            body: JSON.stringify({ errors: [{ message: "expired", extensions: { code: "UNAUTHENTICATED" } }] }),
          })
        : route.fallback(),
    );
    assert.match(await noticeText(page, /sign-in has expired/), /Please sign in again/);
    await page.locator('input[type="password"]').waitFor();
    await page.screenshot({ path: screenshotPath("tokens-2-expired.png") });
    await page.context().close();
  });

  test("SESSION_FULL, FORBIDDEN and RATE_LIMITED read as sentences", async () => {
    const [tutor, student] = await Promise.all([registerUser(server, "TUTOR"), registerUser(server, "STUDENT", "stu")]);
    const full = ok(
      await server.gql(`mutation { createSession(input: { type: GROUP, maxParticipants: 1 }) { id accessCode } }`, {}, await tokenOf(tutor)),
    ).createSession;
    ok(await server.gql(`mutation($id: ID!) { joinSession(id: $id) { participant { id } } }`, { id: full.id }, await tokenOf(tutor)));
    const open = ok(await server.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, await tokenOf(tutor))).createSession;

    const page = await newPage(server);
    await signIn(page, server.url, student.email, student.password);
    const join = async (code: string) => {
      await page.goto(`${server.url}/app#/`);
      await page.getByTestId("join-code").fill(code);
      await page.getByTestId("join-code").press("Enter");
    };

    await join(full.accessCode);
    assert.match(await noticeText(page, /full/), /This lesson is full/);
    await page.screenshot({ path: screenshotPath("errors-session-full.png") });

    // What the page's socket did, for the failure message should the banner not come.
    const logs: string[] = [];
    page.on("websocket", (w) => {
      logs.push(`${Date.now()} ws open ${w.url()}`);
      w.on("framereceived", (f) => logs.push(`${Date.now()} << ${String(f.payload).slice(0, 250)}`));
      w.on("framesent", (f) => logs.push(`${Date.now()} >> ${String(f.payload).slice(0, 250)}`));
      w.on("close", () => logs.push(`${Date.now()} ws closed`));
    });
    await join(open.accessCode);
    await page.getByTestId("board-canvas").waitFor();
    logs.push(`${Date.now()} KICK`);
    ok(
      await server.gql(`mutation($s: ID!, $u: ID!) { kickParticipant(sessionId: $s, userId: $u) { id } }`, { s: open.id, u: student.id }, await tokenOf(tutor)),
    );
    await page
      .getByTestId("kicked")
      .waitFor({ timeout: 15_000 })
      .catch(async (err: Error) => {
        const state = await page.evaluate("JSON.stringify({ ...document.documentElement.dataset, hash: location.hash })");
        throw new Error(`no kicked banner; page ${state}; socket:\n${logs.join("\n")}`, { cause: err });
      });
    await join(open.accessCode);
    assert.match(await noticeText(page, /not allowed/), /You are not allowed to do that in this lesson/);
    await page.screenshot({ path: screenshotPath("errors-forbidden.png") });

    // Wrong codes: 10 a minute, then RATE_LIMITED.
    let message = "";
    for (let i = 0; i < 12 && !/too often/.test(message); i++) {
      const answered = page.waitForResponse((r) => /joinSessionByCode/.test(r.request().postData() ?? ""));
      await join(`WRONG${i}`);
      await answered;
      message = (await page.locator("#notice").textContent()) ?? "";
    }
    assert.match(message, /You are doing that too often\. Please wait \d+ s and try again\./);
    await page.screenshot({ path: screenshotPath("errors-rate-limited.png") });
    assert.deepEqual(problems, []);
  });
});
