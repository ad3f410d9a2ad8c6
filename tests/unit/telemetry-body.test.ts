import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { BodyRefused, bodyCoding, readBody } from "../../src/http/telemetry-body";

const LIMIT = 1024;

/** A request-like stream with `headers`; `chunks` are written, then it ends unless `end` is false. */
function request(chunks: Buffer[], headers: Record<string, string> = {}, end = true) {
  const stream = Object.assign(new PassThrough(), { headers });
  for (const chunk of chunks) stream.write(chunk);
  if (end) stream.end();
  return stream;
}

async function refusal(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BodyRefused, String(err));
    return err.status;
  }
  assert.fail("the body was taken");
}

const gzip = { "content-encoding": "gzip" };

describe("readBody (the telemetry ingest's body)", () => {
  it("takes identity and gzip bodies up to the limit after decompression, and refuses one byte more with 413", async () => {
    const fits = Buffer.alloc(LIMIT, "a");
    const over = Buffer.alloc(LIMIT + 1, "a");
    assert.deepEqual(await readBody(request([fits]), LIMIT), fits);
    assert.deepEqual(await readBody(request([gzipSync(fits)], gzip), LIMIT), fits);
    assert.deepEqual(await readBody(request([fits.subarray(0, 10), fits.subarray(10)], { "content-encoding": "identity" }), LIMIT), fits);
    assert.equal(await refusal(readBody(request([over]), LIMIT)), 413);
    assert.equal(await refusal(readBody(request([gzipSync(over)], gzip), LIMIT)), 413);
  });

  it("refuses an identity body from its Content-Length, before reading a byte of it", async () => {
    const stream = request([], { "content-length": String(LIMIT + 1) }, false);
    assert.equal(await refusal(readBody(stream, LIMIT)), 413);
    assert.equal(stream.readableFlowing, null, "never read");
  });

  it("stops inflating a gzip bomb at the limit: refused while its body has not even ended", { timeout: 10_000 }, async () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    // The first kilobyte inflates to about a megabyte; the stream then stays open forever.
    assert.equal(await refusal(readBody(request([bomb.subarray(0, 1024)], gzip, false), LIMIT)), 413);
  });

  it("bounds the compressed bytes too: deflate blocks that inflate to nothing are refused past the limit", { timeout: 10_000 }, async () => {
    // A gzip header, then empty stored blocks (5 bytes each, no output) for ever.
    const header = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);
    const empty = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);
    const blocks = Buffer.concat(Array.from({ length: 1000 }, () => empty));
    assert.equal(await refusal(readBody(request([header, blocks], gzip, false), LIMIT)), 413);
  });

  it("refuses what claims gzip but is not, or is cut short, with 400", async () => {
    assert.equal(await refusal(readBody(request([Buffer.from('{"type":"x"}')], gzip), LIMIT)), 400);
    assert.equal(await refusal(readBody(request([gzipSync('{"type":"x"}').subarray(0, 12)], gzip), LIMIT)), 400);
    assert.equal(await refusal(readBody(request([], gzip), LIMIT)), 400);
  });

  it("refuses a request that goes away before its body ends with 400", async () => {
    const stream = request([Buffer.from("{")], {}, false);
    const read = readBody(stream, LIMIT);
    stream.destroy();
    assert.equal(await refusal(read), 400);
  });
});

describe("bodyCoding", () => {
  it("takes identity (or none) and gzip, case and spaces aside; 415 for anything else, or several", () => {
    for (const header of [undefined, "", "identity", " Identity "]) assert.equal(bodyCoding(header), "identity");
    for (const header of ["gzip", "GZIP", " gzip", "x-gzip"]) assert.equal(bodyCoding(header), "gzip");
    for (const header of ["br", "deflate", "compress", "zstd", "gzip, gzip", "gzip,br", "identity, gzip"]) {
      assert.throws(
        () => bodyCoding(header),
        (err: unknown) => err instanceof BodyRefused && err.status === 415,
        header,
      );
    }
  });
});
