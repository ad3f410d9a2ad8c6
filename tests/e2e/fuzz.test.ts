import { randomInt } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { backends } from "../support/backends";
import { runFuzz, summarize } from "../support/fuzz-run";
import { startTestServer, type TestServer } from "../support/test-server";

/**
 * HARDENING.md "Bad input to try", generated: every Query and Mutation field of the built
 * schema (and every field with arguments below a Query field) is called with variables
 * fast-check derives from its argument types, well-shaped and hostile (deep JSON, NUL and
 * lone surrogates at any depth, numbers past any limit, prototype keys, forged ids and
 * cursors), as the host of a live lesson, its student, another tutor, an admin and nobody.
 * No 5xx, no INTERNAL_SERVER_ERROR, no partial write of a failed mutation, and the server
 * keeps answering (tests/support/fuzz-run.ts).
 *
 * FUZZ_RUNS (default 2000 calls per backend) and FUZZ_SEED (default fixed; `random` picks
 * one and prints it) choose the run; FUZZ_PATH replays one failed batch. `npm run test:fuzz`
 * is the long run.
 */
const runs = Number(process.env.FUZZ_RUNS ?? 2000);
const seed = process.env.FUZZ_SEED === "random" ? randomInt(2 ** 31 - 1) : Number(process.env.FUZZ_SEED ?? 20_261_202);
const path = process.env.FUZZ_PATH || undefined;

for (const backend of backends) {
  describe(`fuzz [${backend.name}]`, { skip: backend.skip }, () => {
    let server: TestServer;

    before(async () => {
      // Registrations are limited per address, and every world the fuzzer seeds again registers
      // new users: the limit itself is tested in rate-limits.test.ts.
      server = await startTestServer(backend, { env: { REGISTER_RATE_PER_IP: "1000000" } });
    });
    after(() => server?.stop());

    it(`answers ${runs} generated calls without a 5xx, an INTERNAL_SERVER_ERROR or a partial write (FUZZ_SEED=${seed})`, async (t) => {
      console.log(`fuzz [${backend.name}]: FUZZ_SEED=${seed} FUZZ_RUNS=${runs}${path ? ` FUZZ_PATH=${path}` : ""}`);
      const started = Date.now();
      const report = await runFuzz(server, { seed, runs, path });
      const summary = summarize(report);
      t.diagnostic(`${report.calls} calls in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (process.env.FUZZ_VERBOSE) console.log(summary);
      else
        console.log(
          summary
            .split("\n")
            .filter((line, i, all) => i === 0 || i >= all.length - 2)
            .join("\n"),
        );
    });
  });
}
