import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { Router, type Request, type Response } from "express";
import { AuthContext } from "../auth/auth-context";
import type { TokenService } from "../auth/tokens";
import type { Services } from "../services";
import type { ExportedEvent } from "../services/lesson-export.service";
import type { PersonalExport } from "../services/personal-export.service";
import { acceptsGzip, sendExportError } from "./export";

type Log = (err: unknown, requestId: string | undefined) => void;

/** The CSV columns of a timeline export, in order; `data` holds the event's data as JSON text. */
export const TIMELINE_CSV_COLUMNS = ["id", "seq", "type", "timestampMs", "userId", "createdAt", "data"] as const;

/**
 * Lesson and personal exports (issue 18), authenticated by `Authorization: Bearer` like the
 * board downloads and refused the same way before any byte is sent:
 * - `GET /export/sessions/:id/timeline`: the host's and admins' (like the report); NDJSON,
 *   one TimelineEvent a line (the user by `userId`), or CSV with `Accept: text/csv`;
 * - `GET /export/sessions/:id/report`: the lesson report as JSON;
 * - `GET /export/me`: the signed-in user's own data as one JSON document (an access token;
 *   one a minute per user, 429 with Retry-After beyond).
 * Everything is streamed from pages of rows (constant memory whatever the lesson's length),
 * gzip-compressed when Accept-Encoding allows it.
 */
export function lessonExportRouter(services: Services, tokens: TokenService, log: Log): Router {
  const router = Router();
  const auth = (req: Request, kinds: Array<"access" | "session">) => AuthContext.fromHeader(tokens, req.headers.authorization, kinds);

  router.get("/export/sessions/:id/timeline", async (req, res) => {
    const csv = req.accepts(["application/x-ndjson", "application/json", "text/csv"]) === "text/csv";
    let opened;
    try {
      opened = await services.lessonExport.timeline(auth(req, ["access", "session"]), req.params.id);
    } catch (err) {
      return sendExportError(res, err, log);
    }
    const { filename, pages } = opened;
    await stream(req, res, log, {
      type: csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      filename: `${filename}.${csv ? "csv" : "ndjson"}`,
      chunks: csv ? csvChunks(pages) : ndjsonChunks(pages),
    });
  });

  router.get("/export/sessions/:id/report", async (req, res) => {
    let opened;
    try {
      opened = await services.lessonExport.report(auth(req, ["access", "session"]), req.params.id);
    } catch (err) {
      return sendExportError(res, err, log);
    }
    await stream(req, res, log, { type: "application/json; charset=utf-8", filename: opened.filename, chunks: once(JSON.stringify(opened.report)) });
  });

  router.get("/export/me", async (req, res) => {
    let opened;
    try {
      opened = await services.personalExport.open(auth(req, ["access"]));
    } catch (err) {
      return sendExportError(res, err, log);
    }
    await stream(req, res, log, { type: "application/json; charset=utf-8", filename: opened.filename, chunks: documentChunks(opened) });
  });
  return router;
}

/**
 * Streams `chunks` as the response, through gzip when accepted, waiting for the client to
 * take each one (backpressure) so memory stays bounded. A failure once bytes are sent can
 * only cut the response short (logged); before, it is a 500.
 */
async function stream(req: Request, res: Response, log: Log, file: { type: string; filename: string; chunks: AsyncIterable<string> }): Promise<void> {
  res.set({ "Content-Type": file.type, "Content-Disposition": `attachment; filename="${file.filename}"`, "Cache-Control": "private, no-store" });
  res.vary("Accept-Encoding").vary("Authorization").vary("Accept");
  const gzip = acceptsGzip(req.headers["accept-encoding"]);
  if (gzip) res.set("Content-Encoding", "gzip");
  const source = Readable.from(bytes(file.chunks), { objectMode: false });
  try {
    await (gzip ? pipeline(source, createGzip(), res) : pipeline(source, res));
  } catch (err) {
    // A client that went away is no failure of ours.
    if (!res.writableEnded && !req.destroyed && (err as { code?: string }).code !== "ERR_STREAM_PREMATURE_CLOSE")
      log(err, res.locals.requestId as string | undefined);
    res.destroy();
  }
}

async function* bytes(chunks: AsyncIterable<string>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) if (chunk.length > 0) yield Buffer.from(chunk, "utf8");
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

async function* ndjsonChunks(pages: AsyncIterable<ExportedEvent[]>): AsyncGenerator<string> {
  for await (const page of pages) yield page.map((event) => `${JSON.stringify(event)}\n`).join("");
}

async function* csvChunks(pages: AsyncIterable<ExportedEvent[]>): AsyncGenerator<string> {
  yield `${TIMELINE_CSV_COLUMNS.join(",")}\r\n`;
  for await (const page of pages) {
    yield page
      .map((e) => [e.id, String(e.seq), e.type, String(e.timestampMs), e.userId ?? "", e.createdAt, JSON.stringify(e.data)].map(csvField).join(",") + "\r\n")
      .join("");
  }
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The personal export as one JSON document: its head's fields, then each list written a page at a time. */
async function* documentChunks(document: PersonalExport): AsyncGenerator<string> {
  const head = JSON.stringify(document.head);
  yield head.slice(0, -1);
  for (const [key, pages] of document.lists) {
    yield `,${JSON.stringify(key)}:[`;
    let first = true;
    for await (const page of pages) {
      for (const item of page) {
        yield `${first ? "" : ","}${JSON.stringify(item)}`;
        first = false;
      }
    }
    yield "]";
  }
  yield "}";
}
