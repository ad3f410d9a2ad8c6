import http from "node:http";
import { gunzipSync } from "node:zlib";

export interface Download {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as sent (still compressed when Content-Encoding says so). */
  raw: Buffer;
  /** The body decoded (gunzipped if needed) and parsed as JSON. */
  json(): any;
}

/**
 * GET `url` with node:http, so nothing adds or strips Accept-Encoding or decompresses on the
 * way (fetch does both): the bytes are exactly what the server sent.
 */
export function download(url: string, headers: Record<string, string> = {}): Promise<Download> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const raw = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          raw,
          json: () => JSON.parse((res.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8")),
        });
      });
    });
    req.on("error", reject);
  });
}
