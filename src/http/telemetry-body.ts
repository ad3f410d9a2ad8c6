import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { createGunzip, type Gunzip } from "node:zlib";

/** Why a body was refused: the HTTP status and a message for the client. */
export class BodyRefused extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = "BodyRefused";
  }
}

/**
 * Framing a gzip body may add to what it inflates to: the header and trailer (18 bytes, more
 * with a file name) and 5 bytes per stored block. An incompressible body at the limit fits;
 * a longer one is refused from its length, whatever it would inflate to (deflate can also
 * spend any number of input bytes on no output at all).
 */
const GZIP_FRAMING_BYTES = 1024;

/** What a request's body is encoded with: identity (none) or gzip; BodyRefused 415 for any other coding, or several. */
export function bodyCoding(header: string | undefined): "identity" | "gzip" {
  const coding = (header ?? "").trim().toLowerCase();
  if (coding === "" || coding === "identity") return "identity";
  if (coding === "gzip" || coding === "x-gzip") return "gzip";
  throw new BodyRefused(415, "Content-Encoding must be gzip or identity.");
}

/**
 * A request's body, decoded, at most `maxBytes` after decompression. The limit holds while
 * the body streams in: an identity body whose Content-Length is over it is refused before a
 * byte is read; a gzip body stops being inflated at the first chunk past it (a gzip bomb
 * costs about `maxBytes` of inflating, never its full size), and its compressed bytes are
 * bounded too. Rejects with BodyRefused: 413 over the limit, 400 when a gzip body is not gzip
 * (or is cut short) or the request ends early.
 *
 * On refusal it stops listening and leaves the stream flowing: the rest of the body is read
 * and discarded by Node, so the connection stays usable for the answer and for keep-alive.
 */
export function readBody(request: Readable & { headers: IncomingHttpHeaders }, maxBytes: number): Promise<Buffer> {
  const coding = bodyCoding(request.headers["content-encoding"]);
  const maxRaw = coding === "gzip" ? maxBytes + GZIP_FRAMING_BYTES : maxBytes;
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxRaw) return Promise.reject(tooLarge(maxBytes));

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let raw = 0;
    let ended = false;
    let settled = false;
    const inflater: Gunzip | undefined = coding === "gzip" ? createGunzip() : undefined;

    const settle = (error: BodyRefused | undefined) => {
      if (settled) return;
      settled = true;
      request.off("data", onRaw).off("end", onEnd).off("error", onAborted).off("close", onClose);
      if (inflater) {
        inflater.off("data", onDecoded).off("end", onDecodedEnd).off("error", onNotGzip);
        // Ends the inflating where it is; errors of a destroyed inflater go nowhere.
        inflater.on("error", () => undefined).destroy();
      }
      request.resume(); // discard the rest of the body, if any
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onDecoded = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return settle(tooLarge(maxBytes));
      chunks.push(chunk);
    };
    const onRaw = (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > maxRaw) return settle(tooLarge(maxBytes));
      if (inflater) inflater.write(chunk);
      else onDecoded(chunk);
    };
    const onEnd = () => {
      ended = true;
      if (inflater) inflater.end();
      else settle(undefined);
    };
    const onDecodedEnd = () => settle(undefined);
    const onNotGzip = () => settle(new BodyRefused(400, "The body is not valid gzip."));
    const onAborted = () => settle(new BodyRefused(400, "The request ended before its body."));
    // Closed before its end: the client went away mid-body (an inflater may still be finishing after a proper end).
    const onClose = () => {
      if (!ended) onAborted();
    };

    request.on("data", onRaw).on("end", onEnd).on("error", onAborted).on("close", onClose);
    inflater?.on("data", onDecoded).on("end", onDecodedEnd).on("error", onNotGzip);
  });
}

const tooLarge = (maxBytes: number) => new BodyRefused(413, `The body must be at most ${maxBytes} bytes after decompression.`);
