import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { jobs } from "../../src/jobs/registry";
import { topics } from "../../src/realtime/topics";
import { backends } from "../support/backends";
import { registerUser, startTestServer, type TestServer } from "../support/test-server";
import { runNode, type NodeRun } from "../support/node-process";

const JOB_CLI = path.join(__dirname, "../../src/jobs/cli.js");
const HOUR = 3_600_000;

/** `npm run job -- <args>` without the build step: node dist/src/jobs/cli.js. */
function runJobCli(args: string[], env: Record<string, string>): Promise<NodeRun> {
  return runNode([JOB_CLI, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
}

/** A LESSON that ended two hours ago: past its end + EXPIRY_GRACE_MS (15 min by default). */
async function createStaleSession(server: TestServer, token: string): Promise<string> {
  const now = Date.now();
  const res = await server.gql(
    `mutation($input: CreateSessionInput!) { createSession(input: $input) { id status } }`,
    { input: { type: "LESSON", scheduledStart: new Date(now - 3 * HOUR).toISOString(), scheduledEnd: new Date(now - 2 * HOUR).toISOString() } },
    token,
  );
  assert.equal(res.body.data?.createSession.status, "SCHEDULED", res.text);
  return res.body.data.createSession.id;
}

async function statusOf(server: TestServer, token: string, id: string): Promise<string> {
  const res = await server.gql(`query($id: ID!) { session(id: $id) { status } }`, { id }, token);
  assert.ok(res.body.data?.session, res.text);
  return res.body.data.session.status;
}

async function expireEvents(server: TestServer, id: string): Promise<number> {
  const [row] = await server.app.db.query(`SELECT count(*)::int AS n FROM session_events WHERE session_id = $1 AND type = 'SESSION_EXPIRE'`, [id]);
  return row.n;
}

describe("npm run job: arguments", () => {
  it("exits 2 on an unknown job, listing the jobs", async () => {
    const result = await runJobCli(["no-such-job"], { LOG_LEVEL: "silent" });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^unknown job "no-such-job"\njobs:\n/);
    for (const job of jobs) assert.ok(result.stderr.includes(`  ${job.name}`) && result.stderr.includes(job.description), result.stderr);
    assert.ok(result.stderr.includes("expire-sessions"), result.stderr);
  });

  it("exits 2 without a job name, with its usage and the jobs", async () => {
    const result = await runJobCli([], { LOG_LEVEL: "silent" });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^usage: npm run job -- <name>\njobs:\n {2}expire-sessions /);
  });
});

for (const backend of backends) {
  describe(`npm run job -- expire-sessions [${backend.name}]`, { skip: backend.skip }, () => {
    // Embedded: the database is a DATA_DIR on disk that the server locks, so the CLI refuses
    // while the server runs (jobs run inside it there). With DATABASE_URL it runs alongside.
    const embeddedOnDisk = backend.name === "embedded";
    let dataDir: string | undefined;
    let server: TestServer;

    const startServer = () => startTestServer(backend, { env: dataDir ? { DATA_DIR: dataDir } : {} });
    /** What an operator's shell would have: the server's database (and its Redis, prefix included). */
    const cliEnv = (): Record<string, string> => ({
      LOG_LEVEL: "silent",
      ...(dataDir
        ? { DATA_DIR: dataDir }
        : { DATABASE_URL: server.env.DATABASE_URL, JWT_SECRET: server.env.JWT_SECRET, REDIS_URL: server.env.REDIS_URL, REDIS_PREFIX: server.env.REDIS_PREFIX }),
    });

    before(async () => {
      if (embeddedOnDisk) dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-job-cli-"));
      server = await startServer();
    });
    after(async () => {
      await server?.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it(
      "refuses while a server holds the embedded DATA_DIR, changing nothing; runs once it has stopped",
      { skip: !embeddedOnDisk && "no DATA_DIR lock with DATABASE_URL: the CLI runs alongside the server" },
      async () => {
        const tutor = await registerUser(server, "TUTOR");
        const stale = await createStaleSession(server, tutor.token);

        const refused = await runJobCli(["expire-sessions"], cliEnv());
        assert.equal(refused.code, 1, refused.stdout + refused.stderr);
        assert.ok(refused.stderr.includes(`${dataDir} is in use by process ${process.pid} (server)`), refused.stderr);
        assert.equal(refused.stdout, "");
        assert.equal(await statusOf(server, tutor.token, stale), "SCHEDULED");

        await server.stop();
        const ran = await runJobCli(["expire-sessions"], cliEnv());
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        assert.equal(ran.stdout, "expired 1 session\n");
        const again = await runJobCli(["expire-sessions"], cliEnv());
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.equal(again.stdout, "expired 0 sessions\n");

        server = await startServer();
        assert.equal(await statusOf(server, tutor.token, stale), "EXPIRED");
        assert.equal(await expireEvents(server, stale), 1);
      },
    );

    it(
      "runs beside the server on a shared database, its events reaching the server's subscribers through Redis",
      { skip: embeddedOnDisk && "the embedded DATA_DIR is locked by the server: see the test above" },
      async () => {
        const tutor = await registerUser(server, "TUTOR");
        const stale = await createStaleSession(server, tutor.token);
        const stream = await server.app.bus.subscribe(topics.sessionTimeline(stale));

        const ran = await runJobCli(["expire-sessions"], cliEnv());
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        assert.equal(ran.stdout, "expired 1 session\n");
        const { value: published } = await stream.next();
        assert.deepEqual(
          published.events.map((e: { type: string }) => e.type),
          ["SESSION_EXPIRE"],
        );
        await stream.return!();

        assert.equal(await statusOf(server, tutor.token, stale), "EXPIRED");
        assert.equal(await expireEvents(server, stale), 1);
        const again = await runJobCli(["expire-sessions"], cliEnv());
        assert.equal(again.stdout, "expired 0 sessions\n");
        assert.equal(await expireEvents(server, stale), 1);
      },
    );
  });
}
