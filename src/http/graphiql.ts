import { readFile } from "node:fs/promises";
import path from "node:path";
import express from "express";
import type { NextFunction, Request, Response } from "express";
import { GRAPHIQL_APP_SCRIPT } from "./graphiql-app";

/**
 * Content-Security-Policy for the GraphiQL page, checked in headless Chromium
 * (tests/e2e/graphiql.test.ts fails on any violation). GraphiQL 3 needs no
 * 'unsafe-eval' and the page has no inline scripts. Each relaxation is needed:
 * - style-src 'unsafe-inline': GraphiQL's dialogs (settings, shortcuts) inject a
 *   <style> element (react-remove-scroll-bar) whose content varies, so no hash.
 * - font-src/img-src data:: graphiql.css embeds its fonts as data: URLs; the
 *   page's empty favicon is `data:,` (avoids a /favicon.ico 404).
 * - connect-src ws://host wss://host: subscriptions connect to the same path over
 *   WebSocket, on this host only; named because older browsers don't match ws(s)
 *   with 'self'.
 * - frame-ancestors 'none': no site may frame the page (clickjacking).
 */
export function graphiqlCsp(host: string): string {
  // The Host header as a CSP host-source; anything else (a forged header) allows no socket.
  const sockets = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "font-src 'self' data:",
    "frame-ancestors 'none'",
  ].join("; ");
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

interface AssetSource {
  contentType: string;
  /** Loads the asset body; called at most once per successful load. */
  load: () => Promise<string>;
}

/**
 * Finds a file inside an installed package. The packages' `exports` maps hide
 * their UMD builds (only `./package.json` is exported), so resolve that and
 * join from the package directory.
 */
function packageFile(pkg: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
}

/**
 * Reads a vendored bundle, dropping its `sourceMappingURL` comment: we do not
 * serve the maps (graphiql's even points at a file it doesn't ship), so the
 * comment would only produce 404s when devtools are open.
 */
async function readBundle(pkg: string, file: string): Promise<string> {
  const text = await readFile(packageFile(pkg, file), "utf8");
  return text.replace(/\n?\/[/*][#@] sourceMappingURL=[^\n]*\s*$/, "\n");
}

const ASSETS: Record<string, AssetSource> = {
  "react.js": { contentType: JS, load: () => readBundle("react", "umd/react.production.min.js") },
  "react-dom.js": { contentType: JS, load: () => readBundle("react-dom", "umd/react-dom.production.min.js") },
  "graphiql.js": { contentType: JS, load: () => readBundle("graphiql", "graphiql.min.js") },
  "graphiql.css": { contentType: CSS, load: () => readBundle("graphiql", "graphiql.min.css") },
  "graphql-ws.js": { contentType: JS, load: () => readBundle("graphql-ws", "umd/graphql-ws.min.js") },
  "app.js": { contentType: JS, load: async () => GRAPHIQL_APP_SCRIPT },
};

/** Escapes text for use inside a double-quoted HTML attribute. */
function escapeAttr(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderPage(base: string): string {
  const asset = (name: string) => escapeAttr(`${base}/graphiql/${name}`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · Classroom API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset("graphiql.css")}">
</head>
<body>
<div id="graphiql" data-endpoint="${escapeAttr(`${base}/graphql`)}">Loading GraphiQL…</div>
<script src="${asset("react.js")}"></script>
<script src="${asset("react-dom.js")}"></script>
<script src="${asset("graphiql.js")}"></script>
<script src="${asset("graphql-ws.js")}"></script>
<script src="${asset("app.js")}"></script>
</body>
</html>
`;
}

/**
 * Express router serving the GraphiQL IDE from local assets (no CDN).
 *
 * - `GET /graphql`: the GraphiQL page, but only for browser navigations, i.e.
 *   when the client prefers `text/html` over the GraphQL JSON media types and
 *   sends no `query` parameter. Everything else falls through (`next()`) to the
 *   GraphQL server mounted on the same path, so mount this router before it.
 * - `GET /graphiql/{react,react-dom,graphiql,graphql-ws,app}.js` and
 *   `/graphiql/graphiql.css`: the vendored bundles plus the bootstrap script,
 *   read lazily once and kept in memory, cached by browsers for a day.
 *
 * The page is sent with a strict CSP ({@link graphiqlCsp}). Queries and
 * mutations are POSTed to `/graphql` with the headers from GraphiQL's header
 * editor; subscriptions use graphql-ws on the same path (ws:/wss: following the
 * page's scheme) with those headers, lower-cased, as `connectionParams`
 * (so `connectionParams.authorization === 'Bearer <token>'`).
 *
 * Paths are relative to where the router is mounted (`req.baseUrl`).
 */
export function graphiqlRouter(): express.Router {
  const router = express.Router();
  // Per-router cache of in-flight/finished loads; a failed load is evicted so it can be retried.
  const cache = new Map<string, Promise<string>>();

  function loadAsset(name: string, source: AssetSource): Promise<string> {
    let body = cache.get(name);
    if (!body) {
      body = source.load();
      cache.set(name, body);
      body.catch(() => cache.delete(name));
    }
    return body;
  }

  router.get("/graphql", (req: Request, res: Response, next: NextFunction) => {
    const prefersHtml = req.accepts(["application/json", "application/graphql-response+json", "text/html"]) === "text/html";
    if (!prefersHtml || req.query.query !== undefined) {
      next();
      return;
    }
    res
      .status(200)
      .set({
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": graphiqlCsp(req.headers.host ?? ""),
        // Same URL answers JSON for API clients, so caches must key on Accept.
        Vary: "Accept",
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      })
      .send(renderPage(req.baseUrl));
  });

  router.get("/graphiql/:asset", async (req: Request, res: Response, next: NextFunction) => {
    const name = req.params.asset as string;
    const source = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!source) {
      next();
      return;
    }
    try {
      const body = await loadAsset(name, source);
      res
        .status(200)
        .set({
          "Content-Type": source.contentType,
          "Cache-Control": "public, max-age=86400",
          "X-Content-Type-Options": "nosniff",
        })
        .send(body);
    } catch (err) {
      next(err);
    }
  });

  return router;
}
