import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { types } from "pg";
import { parseTimestamptz } from "../../src/db/timestamps";

/** pg's own parser (postgres-date): nothing in this test process replaces it. */
const parseDate = types.getTypeParser(types.builtins.TIMESTAMPTZ) as (text: string) => Date | number | null;

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

describe("parseTimestamptz", () => {
  it("answers the same time as pg's default parser for PostgreSQL's timestamptz texts", () => {
    let seed = 12345;
    const random = (below: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % below);
    const offsets = ["+00", "-03", "+05:30", "-09:30", "+14", "+00:00:36", "-00:44:30"];
    for (let i = 0; i < 5000; i++) {
      const fraction =
        random(3) === 0
          ? ""
          : "." +
            String(random(1_000_000))
              .padStart(6, "0")
              .slice(0, 1 + random(6));
      const text =
        `${pad(1000 + random(9000), 4)}-${pad(1 + random(12))}-${pad(1 + random(28))} ` +
        `${pad(random(24))}:${pad(random(60))}:${pad(random(60))}${fraction}${offsets[random(offsets.length)]}`;
      const expected = parseDate(text) as Date;
      assert.equal((parseTimestamptz(text) as Date).getTime(), expected.getTime(), text);
    }
  });

  it("leaves what it does not read to the default parser: BC, infinity, small years, odd layouts", () => {
    for (const text of [
      "0044-03-15 12:00:00+00 BC",
      "infinity",
      "-infinity",
      "0099-01-01 00:00:00+00",
      "2026-12-02T15:35:12Z",
      "2026-12-02 15:35:12.5+05:30x",
    ]) {
      const expected = parseDate(text);
      const got = parseTimestamptz(text);
      assert.equal(got instanceof Date ? got.getTime() : got, expected instanceof Date ? expected.getTime() : expected, text);
    }
  });
});
