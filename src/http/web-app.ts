import { existsSync } from "node:fs";
import path from "node:path";
import express from "express";
import type { NextFunction, Request, Response } from "express";

/** Where `npm run build` writes the bundled frontend (scripts/build-web.mjs): dist/web. */
export const WEB_APP_DIR = path.resolve(__dirname, "../../web");

/**
 * Content-Security-Policy of the reference frontend (web/), checked in headless Chromium
 * (tests/e2e/web-app.test.ts fails on any violation). Stricter than GraphiQL's: the app
 * sets styles through the CSSOM only, so it needs no 'unsafe-inline' at all.
 * - img-src data: blob:: the empty favicon and canvas exports.
 * - connect-src ws://host wss://host: graphql-ws on /graphql, this host only (see graphiqlCsp).
 * - form-action 'none': forms are handled by script and never navigate.
 */
export function webAppCsp(host: string): string {
  const sockets = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Express router serving the frontend at `/app` from local files (no CDN):
 * - `GET /app/assets/*`: the bundle and stylesheet, revalidated on every load (ETag; their names
 *   carry no content hash, so a cached copy must never outlive a deploy);
 * - `GET /app` and any other `/app/…` path: index.html (the app routes by `location.hash`),
 *   never cached, with {@link webAppCsp}.
 * When the bundle is missing (a build without scripts/build-web.mjs) `/app` answers 404 like
 * any unknown path, rather than a broken page.
 */
export function webAppRouter(dir: string = WEB_APP_DIR): express.Router {
  const router = express.Router();
  const assets = express.static(path.join(dir, "assets"), {
    index: false,
    fallthrough: true,
    setHeaders: (res) => res.setHeader("Cache-Control", "no-cache"),
  });
  router.use("/app/assets", assets);
  router.get(["/app", "/app/{*rest}"], (req: Request, res: Response, next: NextFunction) => {
    if (req.path.startsWith("/app/assets/")) {
      next();
      return;
    }
    const index = path.join(dir, "index.html");
    if (!existsSync(index)) {
      next();
      return;
    }
    res.set({ "Content-Security-Policy": webAppCsp(req.headers.host ?? ""), "Cache-Control": "no-cache" });
    res.sendFile(index, (err) => {
      if (err) next(err);
    });
  });
  return router;
}
