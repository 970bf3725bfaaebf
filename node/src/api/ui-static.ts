// Serves the built web UI (ui/dist) from the local API, behind the same Host/Origin guard as the API
// itself (the guard is an onRequest hook on every route); its files need no token (they are code, no
// data: the page asks for the token and sends it with each API call), see `isUiFile`. A tiny handler instead of
// @fastify/static: the UI is a handful of files, so they are listed once into an allow-list (rescanned
// when index.html is asked for, so a rebuild is picked up without a restart) and only files on that
// list are ever read — no path from a request reaches the file system, so there is no traversal to
// defend against, and no dependency to keep up to date.
//   GET /            index.html (no-cache)
//   GET /assets/…    Vite's hashed files (cached for a year)
//   GET /<file>      other files of ui/dist (index.html, favicon…)
// Anything else falls through to the API's JSON 404.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { sendError, type ApiApp } from "./api-reply.ts";

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Headers of every UI response: no framing by other sites, scripts and connections only from this origin. */
function securityHeaders(host: string): Record<string, string> {
  return {
    "content-security-policy": `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://${host}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
  };
}

/** URL path (e.g. `/assets/index-abc.js`) → absolute file, for every file under `dir`. */
export function listUiFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(dir)) return files;
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !entry.name.startsWith(".") && contentTypes[extname(entry.name)]) files.set("/" + relative(dir, path).split(sep).join("/"), path);
    }
  };
  walk(dir);
  return files;
}

/** Registers the UI's routes; returns whether a GET path is one of the UI's files (served without a token). */
export function registerUiStatic(app: ApiApp, uiDir: string): (path: string) => boolean {
  let files = listUiFiles(uiDir);

  app.get("/", async (req, reply) => {
    files = listUiFiles(uiDir);
    const index = files.get("/index.html");
    if (!index) {
      return sendError(reply, 503, {
        code: "ui_not_built",
        message: `the web UI has not been built (${uiDir} has no index.html)`,
        fix: "run `npm run setup` (it builds the UI), or `npm run build -w ui`",
      });
    }
    return reply
      .headers({ ...securityHeaders(req.headers.host ?? ""), "content-type": contentTypes[".html"], "cache-control": "no-cache" })
      .send(readFileSync(index));
  });

  app.get("/*", async (req, reply) => {
    const path = req.url.split("?")[0]!;
    const file = files.get(path);
    if (!file || !statSync(file, { throwIfNoEntry: false })?.isFile()) return reply.callNotFound();
    const immutable = path.startsWith("/assets/");
    return reply
      .headers({
        ...securityHeaders(req.headers.host ?? ""),
        "content-type": contentTypes[extname(file)]!,
        "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      })
      .send(readFileSync(file));
  });
  return (path) => path === "/" || files.has(path);
}
