import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import { runNode } from "../support/node-process";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { createLogger } from "../../src/infra/logger";
import { capturedLogger, type LogLine } from "../support/logs";

const loggerModule = path.resolve(__dirname, "../../src/infra/logger.js");

/** A script that logs like the server does, with `createLogger` from the build. */
const script = (options: string, log: string) => `const { createLogger } = require(${JSON.stringify(loggerModule)});
const logger = createLogger("info", ${options});
${log}`;

const SECRETS = {
  password: "hunter2-top",
  input: { newPassword: "correct-horse", currentPassword: "old-horse", token: "tok-in-input" },
  config: { jwtSecret: "jwt-secret-value", metricsToken: "scrape-secret" },
  req: { headers: { authorization: "Bearer eyJ-header-token", cookie: "sid=cookie-value" } },
  payload: { accessToken: "access-tok", refreshToken: "refresh-tok", sessionToken: "session-tok" },
};
const SECRET_VALUES = ["hunter2-top", "correct-horse", "old-horse", "tok-in-input", "jwt-secret-value", "scrape-secret", "eyJ-header-token", "cookie-value"];
const logSecrets = `logger.info(${JSON.stringify(SECRETS)}, "signed in");`;

describe("logs", () => {
  it("redact passwords, tokens, secrets, cookies and the Authorization header, wherever a logged object carries them", () => {
    const { logger, lines } = capturedLogger();
    logger.info(SECRETS, "signed in");
    logger.child({ requestId: "r-1" }).warn({ variables: { input: { password: "nested-pass" } } }, "refused");
    const text = JSON.stringify(lines);
    for (const secret of [...SECRET_VALUES, "access-tok", "refresh-tok", "session-tok", "nested-pass"])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.equal(lines[0].req.headers.authorization, "[redacted]");
    assert.equal(lines[0].input.newPassword, "[redacted]");
    assert.equal(lines[1].variables.input.password, "[redacted]");
    // What is not a secret stays readable.
    assert.equal(lines[0].msg, "signed in");
    assert.equal(lines[1].requestId, "r-1");
  });

  it("are JSON lines on stdout when it is not a terminal (a container, a pipe to a shipper)", async () => {
    const run = await runNode(["-e", script("{}", logSecrets)]);
    assert.equal(run.code, 0, run.stderr);
    const line = JSON.parse(run.stdout.trim());
    assert.equal(line.msg, "signed in");
    assert.equal(line.service, "classroom-api");
    for (const secret of SECRET_VALUES) assert.ok(!run.stdout.includes(secret), `${secret} leaked: ${run.stdout}`);
  });

  it("are one readable line each on a terminal (`npm start` in a shell), secrets still redacted", () => {
    // `script` gives the process a real pseudo-terminal as stdout.
    const command = `${JSON.stringify(process.execPath)} -e ${shellQuote(script("{}", logSecrets + '\nlogger.warn({ job: "expire-sessions" }, "job failed");'))}`;
    const out = execFileSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8" });
    const lines = out
      .replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), "") // colours
      .split(/\r?\n/)
      .filter(Boolean);
    assert.equal(lines.length, 2, out);
    assert.match(lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: signed in /);
    assert.match(lines[1], /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: job failed \{"job":"expire-sessions"\}$/);
    assert.ok(!out.includes('"level"'), "not JSON");
    for (const secret of SECRET_VALUES) assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
  });

  it("carry the active span's trace and span ids when tracing is on, and none outside a span", () => {
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    try {
      const lines: LogLine[] = [];
      const logger = createLogger("info", { format: "json", traceIds: true, destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
      const span = trace.wrapSpanContext({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 1 });
      context.with(trace.setSpan(context.active(), span), () => logger.info("inside"));
      logger.info("outside");
      assert.deepEqual(
        lines.map((l) => [l.msg, l.traceId, l.spanId]),
        [
          ["inside", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"],
          ["outside", undefined, undefined],
        ],
      );
    } finally {
      context.disable();
    }
  });

  it("follow LOG_FORMAT over the terminal check", async () => {
    const pretty = await runNode(["-e", script('{ format: "pretty" }', 'logger.info("hello");')]);
    assert.match(pretty.stdout, /INFO: hello\n$/);
    const json = await runNode(["-e", script('{ format: "json" }', 'logger.info("hello");')]);
    assert.equal(JSON.parse(json.stdout).msg, "hello");
  });
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
