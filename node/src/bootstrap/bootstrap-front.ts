// The local mesh host's HTTP front for its kitsune2 bootstrap/relay server: everything is passed
// through (the relay's upgrade as raw bytes), except that a bootstrap listing leaves out the agents
// this host knows are dead (issue #20).
//
// Why: a SIGKILLed node's signed agent info stays at the bootstrap server and in every peer store
// until it expires (20 minutes). A node that joins reads the listing, and kitsune2 sends its
// publishes one message at a time: every dead URL held the joiner's capability publish back by the
// 3 s connect timeout, once per dead peer and space (conductor logs, README "Dead peers and the
// DHT"). Agent infos are signed by their agent, so a host cannot rewrite or revoke one; it can only
// stop handing it out. Gossip does not pass third parties' infos on (kitsune2 exchanges only the
// round's participating agents), so a joiner that never reads a dead agent from the bootstrap
// server never dials it.
//
// The predicate is the host's own measurement (a peer bound over libp2p whose connection is gone),
// never a peer's claim. A wrongly withheld agent loses nothing stored: it is still in every peer
// store that had it and publishes its own info to the peers it knows.
//
// The front listens on the LAN, so each remote host (an IPv4 address, or an IPv6 /64) is limited:
// requests and relay connections a minute, and relay connections open at once (answered 429 beyond
// them, logged at most once a minute per host). This machine is not limited: a connection from
// loopback, or from the very address it reached (the host's own conductor, and other nodes run on
// this machine, come from the LAN address the front listens on).
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Logger } from "../log.ts";
import { PerKeyRate } from "../per-key-rate.ts";
import { addressOwner, ipKey, isLoopbackIp } from "../p2p/peer-addresses.ts";

export interface BootstrapFrontOptions {
  /** Where the kitsune2 server listens (`http://127.0.0.1:PORT`). */
  upstream: () => string;
  /** `HOST:PORT` this front listens on; port 0 picks a free one (kept across restarts). */
  listen: string;
  /** Kitsune2 agent ids (base64url of the 32-byte key) known dead now; asked once per listing. */
  withheld: () => ReadonlySet<string>;
  log: Logger;
  /** Listings bigger than this are passed through unfiltered. Default 8 MiB. */
  maxListingBytes?: number;
  /** Per remote host; default FRONT_LIMITS. */
  limits?: Partial<FrontLimits>;
  /** Limit this machine's own connections too (tests; by default they are not limited). */
  limitLoopback?: boolean;
}

export interface FrontLimits {
  /** HTTP requests (agent-info PUTs, listings) and relay connections one remote host may make a minute. */
  requestsPerMinute: number;
  /** Relay connections (HTTP upgrades) one remote host may hold open at once. */
  tunnels: number;
}

/**
 * A conductor PUTs and lists each space's agents every few seconds at most, one relay connection
 * each: these leave room for a dozen nodes behind one address (a NAT) and stop a flood.
 */
export const FRONT_LIMITS: FrontLimits = { requestsPerMinute: 600, tunnels: 32 };

const listingPath = /^\/bootstrap\/[A-Za-z0-9_-]+\/?$/;

/** A listing without the withheld agents; entries it cannot read are kept (the conductor validates them). */
export function filterListing(body: string, withheld: ReadonlySet<string>): { body: string; withheld: number } {
  if (withheld.size === 0) return { body, withheld: 0 };
  let entries: unknown;
  try {
    entries = JSON.parse(body);
  } catch {
    return { body, withheld: 0 };
  }
  if (!Array.isArray(entries)) return { body, withheld: 0 };
  const kept = entries.filter((entry) => {
    const agent = agentOfEntry(entry);
    return agent === undefined || !withheld.has(agent);
  });
  return kept.length === entries.length ? { body, withheld: 0 } : { body: JSON.stringify(kept), withheld: entries.length - kept.length };
}

function agentOfEntry(entry: unknown): string | undefined {
  const info = (entry as { agentInfo?: unknown } | null)?.agentInfo;
  if (typeof info !== "string") return undefined;
  try {
    const agent = (JSON.parse(info) as { agent?: unknown }).agent;
    return typeof agent === "string" ? agent : undefined;
  } catch {
    return undefined;
  }
}

/** Holochain's 39-byte AgentPubKey → kitsune2's agent id (the 32 key bytes, base64url without padding). */
export function kitsuneAgentId(agentPubKey: Uint8Array): string {
  if (agentPubKey.length !== 39) throw new Error(`an AgentPubKey has 39 bytes, got ${agentPubKey.length}`);
  return Buffer.from(agentPubKey.subarray(3, 35)).toString("base64url");
}

export class BootstrapFront {
  private server: Server | undefined;
  private listen: string;
  private readonly sockets = new Set<Socket>();
  private readonly log: Logger;
  private readonly limits: FrontLimits;
  private readonly requests = new PerKeyRate();
  private readonly tunnelsOf = new Map<string, number>();
  /** Refusals logged, per host: at most one line a minute. */
  private readonly refusalsLogged = new PerKeyRate();

  constructor(private readonly opts: BootstrapFrontOptions) {
    this.listen = opts.listen;
    this.log = opts.log.child({ seam: "bootstrap-front" });
    this.limits = { ...FRONT_LIMITS, ...opts.limits };
  }

  /** Resolves to `HOST:PORT` once listening. */
  async start(): Promise<string> {
    const server = createServer((req, res) => this.forward(req, res));
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.tunnel(req, socket, head));
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    const [host, port] = splitHostPort(this.listen);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    this.listen = `${host}:${address.port}`;
    return this.listen;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const host = this.limitedHost(req.socket);
    if (host !== undefined && !this.requests.take(host, this.limits.requestsPerMinute)) {
      const why = `more than ${this.limits.requestsPerMinute} requests a minute from ${host}`;
      this.refused(host, why);
      res.writeHead(429, { "content-type": "text/plain", "retry-after": "60" });
      res.end(`bootstrap front: ${why}; try again in a minute`);
      return;
    }
    const target = upstreamTarget(req.url, this.opts.upstream());
    if (!target) return refuseTarget(req, res, this.log);
    const filter = req.method === "GET" && listingPath.test(target.pathname);
    const headers = { ...req.headers, host: target.host };
    const upstream = httpRequest(target, { method: req.method, headers }, (reply) => {
      if (!filter || reply.statusCode !== 200) {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
        return;
      }
      this.filtered(reply, res);
    });
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`bootstrap server unreachable: ${err.message}`);
    });
    req.pipe(upstream);
  }

  /**
   * Reads the listing and answers it filtered. A listing over maxListingBytes is passed through as
   * it is: the chunks read so far, then the rest piped (the reply is read by listeners, not by
   * `for await`, whose early exit would destroy it).
   */
  private filtered(reply: IncomingMessage, res: ServerResponse): void {
    const max = this.opts.maxListingBytes ?? 8 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= max) return;
      reply.off("data", onData).off("end", onEnd);
      this.log.warn({ bytes: size, max }, "bootstrap listing passed through unfiltered (larger than the filter's limit)");
      res.writeHead(200, reply.headers);
      for (const c of chunks) res.write(c);
      reply.pipe(res);
    };
    const onEnd = () => {
      const { body, withheld } = filterListing(Buffer.concat(chunks).toString("utf8"), this.opts.withheld());
      if (withheld > 0) this.log.debug({ withheld }, "bootstrap listing without agents known dead");
      const headers = { ...reply.headers, "content-length": String(Buffer.byteLength(body)) };
      delete headers["transfer-encoding"];
      res.writeHead(200, headers);
      res.end(body);
    };
    reply.on("data", onData).once("end", onEnd);
    reply.once("error", (err) => {
      this.log.warn({ err: err.message }, "bootstrap listing could not be read from the server");
      res.destroy(err);
    });
  }

  private limitedHost(socket: Socket): string | undefined {
    return limitKey(socket.remoteAddress, socket.localAddress, this.opts.limitLoopback ?? false);
  }

  private refused(host: string, why: string): void {
    if (this.refusalsLogged.take(host, 1)) this.log.warn({ host, why }, "bootstrap front refused a peer over its limit (logged once a minute per host)");
  }

  /** The relay speaks over an HTTP upgrade: pass the request head and then the bytes both ways. */
  private tunnel(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (!upstreamTarget(req.url, this.opts.upstream())) {
      this.log.warn({ method: req.method, target: String(req.url).slice(0, 200) }, "bootstrap front refused a request target that is not a path");
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    const host = this.limitedHost(socket);
    const over =
      host === undefined
        ? undefined
        : (this.tunnelsOf.get(host) ?? 0) >= this.limits.tunnels
          ? `more than ${this.limits.tunnels} relay connections open from ${host}`
          : !this.requests.take(host, this.limits.requestsPerMinute)
            ? `more than ${this.limits.requestsPerMinute} requests a minute from ${host}`
            : undefined;
    if (host !== undefined && over !== undefined) {
      this.refused(host, over);
      socket.end("HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    if (host !== undefined) this.tunnelsOf.set(host, (this.tunnelsOf.get(host) ?? 0) + 1);
    let counted = host !== undefined;
    const uncount = () => {
      if (!counted || host === undefined) return;
      counted = false;
      const left = (this.tunnelsOf.get(host) ?? 1) - 1;
      if (left > 0) this.tunnelsOf.set(host, left);
      else this.tunnelsOf.delete(host);
    };
    const target = new URL(this.opts.upstream());
    const upstream = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const close = () => {
      uncount();
      upstream.destroy();
      socket.destroy();
    };
    upstream.on("error", close);
    socket.on("error", close);
    upstream.on("close", close);
    socket.on("close", close);
    // A peer that ended its half gives up its place (the server ends its own half once it has sent
    // the rest, which the pipe still delivers).
    socket.on("end", uncount);
  }
}

/**
 * The key a connection's remote host is limited by: its IPv4 address or IPv6 /64 ("unknown" when
 * it has none readable), or undefined for this machine (loopback, or a connection from the address
 * it reached) unless `limitSelf`.
 */
export function limitKey(remoteAddress: string | undefined, localAddress: string | undefined, limitSelf: boolean): string | undefined {
  if (remoteAddress === undefined) return "unknown";
  const fromItsOwnAddress = localAddress !== undefined && ipKey(remoteAddress) !== undefined && ipKey(remoteAddress) === ipKey(localAddress);
  if (!limitSelf && (isLoopbackIp(remoteAddress) || fromItsOwnAddress)) return undefined;
  return addressOwner(remoteAddress) ?? "unknown";
}

/**
 * The upstream URL for a request target: only a path (origin form, "/…", not "//…"), put on the
 * upstream's own origin. An absolute target ("http://169.254.169.254/…") or a "//host/…" one would
 * make `new URL(target, upstream)` take the peer's origin: the front would be an open proxy from the
 * LAN to this host's loopback services (its local API) and beyond. Undefined for such a target.
 */
export function upstreamTarget(requestTarget: string | undefined, upstream: string): URL | undefined {
  if (!requestTarget || !requestTarget.startsWith("/") || requestTarget.startsWith("//")) return undefined;
  const base = new URL(upstream);
  const target = new URL(requestTarget, base.origin);
  return target.origin === base.origin ? target : undefined;
}

function refuseTarget(req: IncomingMessage, res: ServerResponse, log: Logger): void {
  log.warn({ method: req.method, target: String(req.url).slice(0, 200) }, "bootstrap front refused a request target that is not a path");
  res.writeHead(400, { "content-type": "text/plain", connection: "close" });
  res.end("the bootstrap front forwards only paths (a request target starting with one /) to its bootstrap server\n");
}

function splitHostPort(listen: string): [string, number] {
  const at = listen.lastIndexOf(":");
  if (at < 0) throw new Error(`listen address ${listen} has no port`);
  return [listen.slice(0, at).replace(/^\[|\]$/g, ""), Number(listen.slice(at + 1))];
}
