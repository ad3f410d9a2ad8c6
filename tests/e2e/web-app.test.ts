import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { webAppCsp } from "../../src/http/web-app";
import { backends, embedded } from "../support/backends";
import { browserAvailable, launchBrowser } from "../support/browser";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";
import { boardOf, contentOf, drawStroke, screenshotPath, waitForObjects, watch, type BoardContent } from "../support/web-app";

/**
 * The reference frontend (web/, served at /app) driven in Chromium as a tutor and a student
 * would: issue 17's end-to-end scenario, on both backends (the real one brings jsonb key
 * order and Redis pub/sub into the resume). The HTTP checks here and web-app-session.test.ts
 * run on the embedded default only: the browser side is what they test, and a browser run
 * costs a core for half a minute on a machine shared with other suites.
 */

describe("web app (HTTP)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(embedded);
  });
  after(async () => {
    await server?.stop();
  });

  test("serves /app from local assets under a strict CSP", async () => {
    const res = await fetch(`${server.url}/app`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const host = new URL(server.url).host;
    assert.equal(res.headers.get("content-security-policy"), webAppCsp(host));
    assert.doesNotMatch(webAppCsp(host), /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    const html = await res.text();
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, "no inline scripts");
    assert.doesNotMatch(html, /https?:\/\//, "no absolute (CDN) URLs");
    for (const asset of ["/app/assets/app.js", "/app/assets/app.css"]) {
      assert.ok(html.includes(`"${asset}"`), `page references ${asset}`);
      const body = await fetch(`${server.url}${asset}`);
      assert.equal(body.status, 200, asset);
      assert.match(body.headers.get("content-type") ?? "", asset.endsWith(".js") ? /javascript/ : /^text\/css/);
      assert.equal(body.headers.get("cache-control"), "no-cache", "revalidated: the names carry no content hash");
      assert.equal(body.headers.get("x-content-type-options"), "nosniff");
      await body.arrayBuffer();
    }
    // Deep links answer the page (the app routes by hash); missing assets are 404s, not the page.
    assert.equal((await fetch(`${server.url}/app/anything`)).status, 200);
    const missing = await fetch(`${server.url}/app/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get("content-type") ?? "", /json/);
  });
});

for (const backend of backends) {
  describe(
    `web app in the browser: a lesson between a tutor and a student [${backend.name}]`,
    { skip: (!browserAvailable() && "chromium not installed (/usr/bin/chromium)") || backend.skip },
    () => {
      let server: TestServer;
      let browser: Browser;
      let tutorContext: BrowserContext;
      let studentContext: BrowserContext;
      let tutor: Page;
      let student: Page;
      let tutorUser: Awaited<ReturnType<typeof registerUser>>;
      let studentId: string;
      let sessionId: string;
      const problems: string[] = [];
      /** When the student's first stroke was recorded: a past instant for the replay. */
      let studentStrokeMs: number;

      before(async () => {
        [server, browser] = await Promise.all([startTestServer(backend), launchBrowser()]);
        tutorUser = await registerUser(server, "TUTOR", "tina");
        tutorContext = await browser.newContext({ viewport: { width: 1280, height: 860 } });
        // The student is on a phone.
        studentContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
        [tutor, student] = await Promise.all([tutorContext.newPage(), studentContext.newPage()]);
        const origin = new URL(server.url);
        await watch(tutor, origin, problems);
        await watch(student, origin, problems);
      });
      after(async () => {
        await browser?.close();
        await server?.stop();
      });

      test("the first screen is the sign-in form; Enter signs in; a student signs up", async () => {
        await tutor.goto(`${server.url}/app`);
        const form = tutor.locator("form", { has: tutor.locator('input[type="password"]') });
        await form.locator('input[type="email"]').fill(tutorUser.email);
        await form.locator('input[type="password"]').fill(tutorUser.password);
        assert.equal(await form.getByRole("link", { name: /create an account/i }).count(), 1);
        await tutor.screenshot({ path: screenshotPath("01-sign-in.png") });
        await form.locator('input[type="password"]').press("Enter");
        await tutor.getByTestId("me").filter({ hasText: "tina" }).waitFor();

        await student.goto(`${server.url}/app`);
        await student.getByRole("link", { name: /create an account/i }).click();
        await student.getByLabel("Name").fill("sam");
        await student.getByLabel("Email").fill("sam@example.test");
        await student.getByLabel("Password").fill("correct horse battery staple");
        await student.getByRole("button", { name: "Sign up" }).click();
        await student.getByTestId("me").filter({ hasText: "sam" }).waitFor();
        studentId = (await student.evaluate("JSON.parse(localStorage.getItem('classroom.auth')).user.id")) as string;
        assert.ok(studentId);
      });

      test("the tutor creates and starts a session; the student joins by its code", async () => {
        await tutor.getByTestId("new-title").fill("Fractions");
        await tutor.getByRole("button", { name: "Create" }).click();
        const code = (await tutor.getByTestId("created-code").textContent())!.trim();
        assert.match(code, /\S{4,}/);
        await tutor.screenshot({ path: screenshotPath("02-tutor-created.png") });
        await tutor.getByTestId("open-created").click();
        await tutor.getByTestId("board-canvas").waitFor();
        sessionId = decodeURIComponent(tutor.url().split("#/lesson/")[1]);
        await tutor.getByRole("button", { name: "Start" }).click();
        await tutor.getByTestId("session-status").filter({ hasText: "ACTIVE" }).waitFor();

        await student.getByTestId("join-code").fill(code);
        await student.getByTestId("join-code").press("Enter");
        await student.getByTestId("board-canvas").waitFor();
        await student.getByTestId("session-status").filter({ hasText: "ACTIVE" }).waitFor();
        // The tutor's list shows the student once their stream connects.
        await tutor.locator(`[data-testid="participants"] li[data-user-id="${studentId}"][data-online="true"]`).waitFor();
        await student.screenshot({ path: screenshotPath("03-student-joined-phone.png") });
      });

      test("the student raises a hand and chats; the tutor sees both", async () => {
        await student.getByTestId("raise-hand").click();
        await tutor.locator(`li[data-user-id="${studentId}"] [data-testid="hand"]`).waitFor();
        await student.getByLabel("Message").fill("Is 2/4 the same as 1/2?");
        await student.getByLabel("Message").press("Enter");
        await tutor.getByTestId("chat-log").filter({ hasText: "sam: Is 2/4 the same as 1/2?" }).waitFor();
      });

      test("the student draws: the tutor sees the stroke and the student's cursor within a second", async () => {
        await drawStroke(student, [0.2, 0.3], [0.5, 0.6]);
        const drawnAt = Date.now();
        await waitForObjects(tutor, 1, 1_000);
        await tutor.locator(`[data-cursor-user="${studentId}"]`, { hasText: "sam" }).waitFor({ timeout: Math.max(1, 1_000 - (Date.now() - drawnAt)) });
        assert.ok(Date.now() - drawnAt <= 1_000, `stroke and cursor took ${Date.now() - drawnAt} ms`);
        const [t, s] = await Promise.all([boardOf(tutor), boardOf(student)]);
        assert.deepEqual(t.content, s.content);
        const stroke = Object.values(t.content.objects)[0];
        assert.equal(stroke.kind, "stroke");
        await tutor.screenshot({ path: screenshotPath("04-tutor-sees-stroke-and-cursor.png") });

        const timeline = await server.gql(
          `query($id: ID!) { session(id: $id) { timeline(filter: { types: [BOARD_STROKE] }) { edges { node { timestampMs } } } } }`,
          { id: sessionId },
          tutorUser.token,
        );
        studentStrokeMs = timeline.body.data.session.timeline.edges[0].node.timestampMs;
      });

      test("the student's network is cut for 5 s while the tutor draws; back online, the boards are equal", async () => {
        const before = await boardOf(student);
        const resumed = new Promise<number>((resolve) => {
          student.on("websocket", (socket) =>
            socket.on("framesent", ({ payload }) => {
              const message = JSON.parse(String(payload)) as { type: string; payload?: { query?: string; variables?: { afterSeq?: number } } };
              if (message.type === "subscribe" && /subscription BoardEvents/.test(message.payload?.query ?? "")) resolve(message.payload!.variables!.afterSeq!);
            }),
          );
        });
        const cutAt = Date.now();
        await studentContext.setOffline(true);
        await student.locator('html[data-link="offline"]').waitFor();

        await drawStroke(tutor, [0.6, 0.2], [0.9, 0.4]);
        await drawStroke(tutor, [0.1, 0.8], [0.4, 0.9]);
        await tutor.locator('[data-tool="rect"]').click();
        const box = (await tutor.getByTestId("board-canvas").boundingBox())!;
        await tutor.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.55);
        await tutor.mouse.down();
        await tutor.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.8, { steps: 4 });
        await tutor.mouse.up();
        await waitForObjects(tutor, 4);
        assert.equal(Object.keys((await boardOf(student)).content.objects).length, 1, "the offline student saw nothing new");
        await student.screenshot({ path: screenshotPath("05-student-offline.png") });

        // The cut lasts 5 s by the scenario's definition: what remains of it is waited out.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5_000 - (Date.now() - cutAt))));
        await studentContext.setOffline(false);

        const expected = (await boardOf(tutor)).content;
        await student.waitForFunction((json) => JSON.stringify((globalThis as any).__board?.().content) === json, JSON.stringify(expected), {
          timeout: 15_000,
        });
        assert.equal(await resumed, before.lastSeq, "the board stream resumed after the last event the student had (afterSeq)");
        const server_ = await server.gql(`query($id: ID!) { session(id: $id) { board { layers objects } } }`, { id: sessionId }, tutorUser.token);
        assert.deepEqual(contentOf(server_.body.data.session.board), expected, "both equal the server's board");
        await student.locator('html[data-link="online"]').waitFor();
        await student.screenshot({ path: screenshotPath("06-student-back-online.png") });
      });

      test("the tutor pauses and resumes, and makes the student a viewer; the student's page follows", async () => {
        await tutor.getByRole("button", { name: "Pause" }).click();
        await student.getByTestId("session-status").filter({ hasText: "PAUSED" }).waitFor();
        await tutor.getByRole("button", { name: "Resume" }).click();
        await student.getByTestId("session-status").filter({ hasText: "ACTIVE" }).waitFor();
        await tutor.getByLabel("Role of sam").selectOption("VIEWER");
        await student.locator(`li[data-user-id="${studentId}"]`, { hasText: "viewer" }).waitFor();
      });

      test("the tutor kicks the student, whose page says so", async () => {
        await tutor.locator(`[data-kick="${studentId}"]`).click();
        const banner = student.getByTestId("kicked");
        await banner.waitFor();
        assert.match((await banner.textContent()) ?? "", /removed from this lesson/i);
        await tutor.locator(`li[data-user-id="${studentId}"][data-status="KICKED"]`).waitFor();
        await student.screenshot({ path: screenshotPath("07-student-kicked.png") });
      });

      test("the tutor writes text, erases, undoes and redoes, and adds a layer; the board equals the server's", async () => {
        const box = (await tutor.getByTestId("board-canvas").boundingBox())!;
        await tutor.locator('[data-tool="text"]').click();
        await tutor.mouse.click(box.x + box.width * 0.05, box.y + box.height * 0.05);
        await tutor.getByLabel("Text").fill("3/4 = 6/8");
        await tutor.getByLabel("Text").press("Enter");
        await waitForObjects(tutor, 5);
        // The eraser on the student's stroke (drawn from 20 %/30 % to 50 %/60 %).
        await tutor.locator('[data-tool="eraser"]').click();
        await tutor.mouse.click(box.x + box.width * 0.35, box.y + box.height * 0.45);
        await waitForObjects(tutor, 4);
        await tutor.getByRole("button", { name: "Undo" }).click();
        await waitForObjects(tutor, 5);
        await tutor.getByRole("button", { name: "Redo" }).click();
        await waitForObjects(tutor, 4);
        await tutor.getByRole("button", { name: "+ layer" }).click();
        await tutor.waitForFunction(() => (globalThis as any).__board().content.layers.length === 2);
        await drawStroke(tutor, [0.7, 0.1], [0.95, 0.15]);
        await waitForObjects(tutor, 5);
        const board = await boardOf(tutor);
        assert.ok(
          Object.values(board.content.objects).some((o) => o.layerId === board.content.layers[1].id),
          "the new stroke is on the new layer",
        );
        const res = await server.gql(`query($id: ID!) { session(id: $id) { board { layers objects } } }`, { id: sessionId }, tutorUser.token);
        assert.deepEqual(board.content, contentOf(res.body.data.session.board));
        await tutor.screenshot({ path: screenshotPath("07b-tutor-tools.png") });
      });

      test("after completion, the replay slider at a past instant shows that instant's board, and the report renders its chart", async () => {
        await tutor.getByRole("button", { name: "Complete" }).click();
        await tutor.getByTestId("session-status").filter({ hasText: "COMPLETED" }).waitFor();
        await tutor.getByTestId("open-replay").click();
        const replay = tutor.getByTestId("replay");
        await replay.and(tutor.locator("[data-at]")).waitFor();

        // The instant of the student's stroke: the board then had that stroke only.
        const slider = tutor.getByTestId("replay-slider");
        await slider.evaluate((el, t) => {
          const input = el as unknown as { value: string; dispatchEvent(e: unknown): void };
          input.value = String(t);
          input.dispatchEvent(new (globalThis as unknown as { Event: new (type: string, init: object) => unknown }).Event("input", { bubbles: true }));
        }, studentStrokeMs);
        await tutor.locator(`[data-testid="replay"][data-at="${studentStrokeMs}"]`).waitFor();
        const shown = (await tutor.evaluate("window.__replay()")) as { timestampMs: number; content: BoardContent };
        const answer = await server.gql(
          `query($id: ID!, $t: SafeInt!) { session(id: $id) { replayBoardAt(timestampMs: $t) { layers objects } } }`,
          { id: sessionId, t: studentStrokeMs },
          tutorUser.token,
        );
        const expected = contentOf(answer.body.data.session.replayBoardAt);
        assert.deepEqual(shown.content, expected);
        assert.equal(Object.keys(expected.objects).length, 1, "a past instant: only the student's stroke");
        await tutor.screenshot({ path: screenshotPath("08-replay-past-instant.png") });

        // Play from there: replayEvents applied in order end on the final board.
        const final = await server.gql(`query($id: ID!) { session(id: $id) { board { layers objects } } }`, { id: sessionId }, tutorUser.token);
        await tutor.getByTestId("replay-play").click();
        await tutor.waitForFunction(
          (json) => JSON.stringify((globalThis as any).__replay?.().content) === json,
          JSON.stringify(contentOf(final.body.data.session.board)),
          {
            timeout: 30_000,
          },
        );

        await tutor.getByTestId("open-report").click();
        const chart = tutor.locator('[data-testid="report-chart"][data-drawn="true"]');
        await chart.waitFor();
        assert.ok(Number(await chart.getAttribute("data-buckets")) > 0);
        await tutor.getByRole("cell", { name: "sam" }).waitFor();
        await tutor.screenshot({ path: screenshotPath("09-report.png") });
        assert.deepEqual(problems, []);
      });
    },
  );
}
