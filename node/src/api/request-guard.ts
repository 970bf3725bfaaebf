// Who may talk to the local API. The API can shut the node down and streams everything it does, so:
//  - Host guard: a web page can make a browser send requests to 127.0.0.1 under a name it controls
//    (DNS rebinding: evil.example first resolves to the attacker, then to 127.0.0.1). Such requests
//    carry `Host: evil.example`, so only the names this API is actually reached by are accepted.
//  - Origin guard: any page the user visits may POST to localhost (a "simple" request needs no CORS
//    preflight) or open a WebSocket (WebSockets are not subject to CORS at all) and read the event
//    stream. Browsers always send `Origin` on those; a request whose Origin is not the API's own is
//    refused. Non-browser clients (the CLI) send no Origin.
//  - Token: required when the API listens beyond loopback (anyone on the network could reach it), and
//    checked whenever one is configured; compared in constant time. The web UI's own files (its
//    code, no data) are served without it: a browser cannot send a token on a page load, and the
//    page then asks for the token and sends it on every API call.
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";

export interface ApiErrorBody {
  code: string;
  message: string;
  fix: string;
}

export interface GuardRejection extends ApiErrorBody {
  status: 401 | 403;
}

export interface GuardConfig {
  /** Lower-case host names (no port, IPv6 without brackets) this API may be addressed as. */
  allowedHostnames: ReadonlySet<string>;
  token?: string;
  /** Where a local client reaches the API, for messages. */
  url: string;
}

export interface GuardedRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The request target, e.g. `/v1/events?token=…`. */
  url: string;
  /** A WebSocket upgrade: browsers cannot set headers on those, so `?token=` is accepted too. */
  isWebSocket: boolean;
  /** A GET of one of the web UI's own files (ui-static.ts): Host and Origin are checked, not the token. */
  isUiFile?: boolean;
}

/** Strips IPv6 brackets and a trailing dot, lower-cases. */
export function normalizeHostname(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

export function isLoopbackHost(host: string): boolean {
  const h = normalizeHostname(host);
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice("::ffff:".length) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

export function isWildcardHost(host: string): boolean {
  const h = normalizeHostname(host);
  return h === "0.0.0.0" || h === "::" || h === "";
}

/** The host name part of a `Host` header (`a:1`, `[::1]:1`, `::1` are all understood), or undefined. */
export function hostnameOfHostHeader(header: string): string | undefined {
  const h = header.trim();
  if (h === "") return undefined;
  // A port, when there is one, is digits only: the header is echoed into the UI's CSP (connect-src).
  const port = (rest: string) => rest === "" || /^:\d{1,5}$/.test(rest);
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 && port(h.slice(end + 1)) ? normalizeHostname(h.slice(0, end + 1)) : undefined;
  }
  const colons = h.split(":").length - 1;
  if (colons === 0) return normalizeHostname(h);
  if (colons === 1) return port(h.slice(h.indexOf(":"))) ? normalizeHostname(h.slice(0, h.indexOf(":"))) : undefined;
  return normalizeHostname(h); // a bare IPv6 address
}

/** Names the API accepts in `Host`: loopback names, the bound address and, on a wildcard bind, this machine's addresses. */
export function allowedHostnames(boundHost: string, extra: readonly string[] = []): Set<string> {
  const names = new Set(["localhost", "127.0.0.1", "::1", normalizeHostname(boundHost), ...extra.map(normalizeHostname)]);
  if (isWildcardHost(boundHost)) {
    names.add(normalizeHostname(hostname()));
    for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) names.add(normalizeHostname(a.address));
  }
  names.delete("");
  return names;
}

/** Constant-time token comparison (hashing first makes the lengths equal, so length leaks nothing either). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function header(req: GuardedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Why this request must be refused, or undefined when it may proceed. */
export function checkRequest(req: GuardedRequest, cfg: GuardConfig): GuardRejection | undefined {
  const host = header(req, "host");
  const name = host === undefined ? undefined : hostnameOfHostHeader(host);
  if (name === undefined || !cfg.allowedHostnames.has(name)) {
    return {
      status: 403,
      code: "forbidden_host",
      message: `Host header ${JSON.stringify(host ?? null)} is not a name of this API (refused to defeat DNS rebinding)`,
      fix: `address the API as ${cfg.url} (it accepts: ${[...cfg.allowedHostnames].join(", ")})`,
    };
  }
  const origin = header(req, "origin");
  if (origin !== undefined && origin.toLowerCase() !== `http://${host!.trim().toLowerCase()}`) {
    return {
      status: 403,
      code: "forbidden_origin",
      message: `cross-origin browser requests are refused (Origin ${origin})`,
      fix: `use the web UI served by the daemon at ${cfg.url}, or a non-browser client such as the \`ripple\` CLI`,
    };
  }
  if (cfg.token === undefined || req.isUiFile) return undefined;
  // `x-api-key` is where Anthropic's clients put their API key (`new Anthropic({apiKey: token})`).
  const given = bearerToken(header(req, "authorization")) ?? header(req, "x-api-key") ?? (req.isWebSocket ? queryToken(req.url) : undefined);
  if (given === undefined) {
    return {
      status: 401,
      code: "unauthorized",
      message: "this API requires a token",
      fix: "send `Authorization: Bearer <token>` or `x-api-key: <token>` (WebSockets may use `?token=`); the token is the daemon's RIPPLE_API_TOKEN, also in <data dir>/api.json",
    };
  }
  if (!tokensEqual(given, cfg.token)) {
    return {
      status: 401,
      code: "unauthorized",
      message: "the API token was not accepted",
      fix: "use the token the daemon was started with (its RIPPLE_API_TOKEN, also in <data dir>/api.json)",
    };
  }
  return undefined;
}

function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return m?.[1];
}

function queryToken(url: string): string | undefined {
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get("token") ?? undefined;
}
