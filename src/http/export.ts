import { sendJsonError } from "./json-error";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { Router, type Response } from "express";
import { AuthContext } from "../auth/auth-context";
import type { TokenService } from "../auth/tokens";
import { ErrorCode, publicCode } from "../schema/errors";
import type { Services } from "../services";
import type { BoardExport } from "../services/board-export.service";
import { DomainError } from "../domain/errors";

const gzipAsync = promisify(gzip);

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.RATE_LIMITED]: 429,
};

/**
 * Board downloads (H2): `GET /export/sessions/:id/board` (the current board) and
 * `GET /export/sessions/:id/snapshots/:version`, as BoardState JSON that importBoard takes
 * back; gzip-compressed when Accept-Encoding allows it. Authenticated by `Authorization:
 * Bearer` (an access token, or a session token of that session) and decided by AccessPolicy
 * like every read: no token 401, no access at all 404 (existence never leaks), a kicked user
 * or one without canExport 403. CORS_ORIGINS may fetch them like /graphql (the composition
 * root puts the same `cors` in front).
 */
export function exportRouter(services: Services, tokens: TokenService, log: (err: unknown, requestId: string | undefined) => void): Router {
  const router = Router();
  const send = async (res: Response, acceptEncoding: string | undefined, load: () => Promise<BoardExport>) => {
    try {
      const { filename, board } = await load();
      const json = Buffer.from(JSON.stringify(board), "utf8");
      res.set({
        "Content-Type": "application/json; charset=utf-8",
        "Content-Disposition": `attachment; filename="${filename}"`,
        "Cache-Control": "private, no-store",
      });
      // Appended: CORS (src/http/security.ts) may have set Vary: Origin already.
      res.vary("Accept-Encoding").vary("Authorization");
      if (acceptsGzip(acceptEncoding)) res.set("Content-Encoding", "gzip").send(await gzipAsync(json));
      else res.send(json);
    } catch (err) {
      sendExportError(res, err, log);
    }
  };
  const auth = (header: unknown) => AuthContext.fromHeader(tokens, header, ["access", "session"]);
  router.get("/export/sessions/:id/board", (req, res) =>
    send(res, req.headers["accept-encoding"], () => services.boardExport.exportBoard(auth(req.headers.authorization), req.params.id)),
  );
  router.get("/export/sessions/:id/snapshots/:version", (req, res) =>
    send(res, req.headers["accept-encoding"], () => {
      const version = /^\d{1,9}$/.test(req.params.version) ? Number(req.params.version) : -1;
      return services.boardExport.exportSnapshot(auth(req.headers.authorization), req.params.id, version);
    }),
  );
  return router;
}

/**
 * An export's refusal, before any byte of the file was sent: the status of its public code
 * (401, 403, 404, 400; 429 with Retry-After when rate limited) and a GraphQL-like error body;
 * anything unexpected is logged and answered 500 without its message.
 */
export function sendExportError(res: Response, err: unknown, log: (err: unknown, requestId: string | undefined) => void): void {
  const code = err instanceof DomainError ? publicCode(err.reason) : ErrorCode.INTERNAL_SERVER_ERROR;
  const status = STATUS[code] ?? 500;
  if (status === 500) log(err, res.locals.requestId as string | undefined);
  const message = status === 500 ? "Internal server error" : (err as Error).message;
  const retryAfterMs = err instanceof DomainError ? err.details.retryAfterMs : undefined;
  if (typeof retryAfterMs === "number") res.set("Retry-After", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  sendJsonError(res, status, code, message, typeof retryAfterMs === "number" ? { retryAfterMs } : {});
}

/** Whether an Accept-Encoding header allows gzip (or `*`) with a non-zero quality. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "*") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
