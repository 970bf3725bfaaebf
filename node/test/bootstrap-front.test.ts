// The local mesh host's bootstrap front (issue #20): a real kitsune2-bootstrap-srv behind it, agent
// infos signed like kitsune2 signs them; listings through the front leave out the agents the host
// measured dead, the server itself keeps them, and bad input is passed through for the server to
// refuse. Plus the pure parts: the listing filter, the agent id mapping, which bound peers are dead.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { BootstrapFront, filterListing, kitsuneAgentId, limitKey } from "../src/bootstrap/bootstrap-front.ts";
import { FilteredBootstrapServer } from "../src/bootstrap/filtered-bootstrap-server.ts";
import { checkToolchain } from "../src/config/toolchain.ts";
import { createLogger } from "../src/log.ts";
import { disconnectedBoundAgents } from "../src/mesh/peer-view.ts";

interface Agent {
  id: string;
  key: KeyObject;
}

function newAgent(): Agent {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return { id: Buffer.from(raw).toString("base64url"), key: privateKey };
}

/** A signed agent info as kitsune2 writes one: the signature covers the agentInfo string. */
function signedInfo(agent: Agent, space: string): string {
  const now = Date.now() * 1000;
  const agentInfo = JSON.stringify({
    agent: agent.id,
    space,
    createdAt: String(now),
    expiresAt: String(now + 20 * 60 * 1_000_000),
    isTombstone: false,
    url: `http://127.0.0.1:1/${agent.id}`,
    storageArc: [0, 4294967295],
  });
  return JSON.stringify({ agentInfo, signature: sign(null, Buffer.from(agentInfo), agent.key).toString("base64url") });
}

/** A kitsune2 agent id as Holochain's 39-byte AgentPubKey (prefix, key, location). */
const holochainKey = (id: string) => Uint8Array.from([0x84, 0x20, 0x24, ...Buffer.from(id, "base64url"), 0, 0, 0, 0]);

const listedAgents = (body: string) => (JSON.parse(body) as Array<{ agentInfo: string }>).map((e) => (JSON.parse(e.agentInfo) as { agent: string }).agent).sort();

describe("bootstrap front (issue #20)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rm-bootstrap-front-"));
  const space = randomBytes(32).toString("base64url");
  const alive = newAgent();
  const dead = newAgent();
  const withheld = new Set<string>();
  let server: FilteredBootstrapServer;
  let url: string;

  beforeAll(async () => {
    const tc = await checkToolchain({ only: ["kitsune2-bootstrap-srv"] });
    server = new FilteredBootstrapServer({ binary: tc.path("kitsune2-bootstrap-srv"), listen: "127.0.0.1:0", logDir: dir, deadAgents: () => [...withheld].map(holochainKey), log: createLogger("test", "warn") });
    url = await server.start();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (agent: Agent) => fetch(`${url}/bootstrap/${space}/${agent.id}`, { method: "PUT", body: signedInfo(agent, space) });
  const list = async (base = url) => {
    const res = await fetch(`${base}/bootstrap/${space}`);
    expect(res.status).toBe(200);
    return listedAgents(await res.text());
  };

  it("passes PUTs and listings through, and leaves out only agents the host measured dead", async () => {
    for (const agent of [alive, dead]) expect((await put(agent)).status).toBe(200);
    expect(await list()).toEqual([alive.id, dead.id].sort());
    withheld.add(dead.id);
    expect(await list()).toEqual([alive.id]);
    // Nothing is lost: the server still holds the withheld agent, and hands it out again once it is back.
    withheld.delete(dead.id);
    expect(await list()).toEqual([alive.id, dead.id].sort());
  });

  it("passes a forged agent info to the server, which refuses it; other paths and methods reach the server unchanged", async () => {
    const forged = JSON.parse(signedInfo(alive, space)) as { agentInfo: string; signature: string };
    forged.signature = Buffer.alloc(64, 7).toString("base64url");
    const res = await fetch(`${url}/bootstrap/${space}/${alive.id}`, { method: "PUT", body: JSON.stringify(forged) });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it("passes a listing larger than its limit through whole and unfiltered", async () => {
    const agents = Array.from({ length: 200 }, () => newAgent());
    const listing = `[${agents.map((a) => signedInfo(a, space)).join(",")}]`;
    // Sent in several writes, so that the limit is crossed mid-body.
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      for (let i = 0; i < listing.length; i += 4096) res.write(listing.slice(i, i + 4096));
      res.end();
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    const front = new BootstrapFront({ upstream: () => `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, listen: "127.0.0.1:0", withheld: () => new Set([agents[0]!.id]), log: createLogger("test", "warn"), maxListingBytes: 10_000 });
    try {
      const res = await fetch(`http://${await front.start()}/bootstrap/${space}`);
      expect(await res.text()).toBe(listing);
    } finally {
      await front.stop();
      await new Promise((r) => upstream.close(r));
    }
  });

  it("forwards only paths, to its own server: an absolute or //host target from the LAN reaches nothing else (no open proxy)", async () => {
    const hits: Array<{ server: string; url: string; host: string }> = [];
    const serve = (name: string) => createServer((req, res) => {
      hits.push({ server: name, url: req.url ?? "", host: req.headers.host ?? "" });
      res.end("ok");
    });
    const upstream = serve("kitsune2");
    const victim = serve("loopback API"); // e.g. this host's local API, which trusts loopback
    for (const s of [upstream, victim]) await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const portOf = (s: typeof upstream) => (s.address() as AddressInfo).port;
    const front = new BootstrapFront({ upstream: () => `http://127.0.0.1:${portOf(upstream)}`, listen: "127.0.0.1:0", withheld: () => new Set(), log: createLogger("test", "silent") });
    const [host, port] = (await front.start()).split(":");
    /** One raw request (fetch cannot send an absolute-form target); its status line. */
    const raw = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), host!, () => socket.write(head));
        let got = "";
        socket.on("data", (d) => (got += d));
        socket.on("end", () => resolve(got.split("\r\n")[0]!));
        socket.on("error", reject);
      });
    const victimAt = `127.0.0.1:${portOf(victim)}`;
    try {
      for (const target of [`http://${victimAt}/v1/shutdown`, `//${victimAt}/v1/shutdown`, "*"]) {
        expect(await raw(`POST ${target} HTTP/1.1\r\nhost: ${victimAt}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`), target).toBe("HTTP/1.1 400 Bad Request");
      }
      // The relay's upgrade path likewise.
      expect(await raw(`GET http://${victimAt}/ HTTP/1.1\r\nhost: ${victimAt}\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n`)).toBe("HTTP/1.1 400 Bad Request");
      expect(hits).toEqual([]);
      // A path goes to the server, with the server's own Host.
      expect(await raw(`GET /health HTTP/1.1\r\nhost: ${victimAt}\r\nconnection: close\r\n\r\n`)).toBe("HTTP/1.1 200 OK");
      expect(hits).toEqual([{ server: "kitsune2", url: "/health", host: `127.0.0.1:${portOf(upstream)}` }]);
    } finally {
      await front.stop();
      for (const s of [upstream, victim]) await new Promise((r) => s.close(r));
    }
  });

  it("limits each remote host's requests a minute and open relay connections (429 beyond them); loopback only when asked", async () => {
    const upgrades: Array<import("node:stream").Duplex> = [];
    let requests = 0;
    const upstream = createServer((_req, res) => {
      requests++;
      res.end("ok");
    });
    // The relay: an upgrade the server answers and then holds open.
    upstream.on("upgrade", (_req, socket) => {
      upgrades.push(socket);
      socket.write("HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    const upstreamUrl = () => `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const front = (limits: { requestsPerMinute: number; tunnels: number }, limitLoopback: boolean) =>
      new BootstrapFront({ upstream: upstreamUrl, listen: "127.0.0.1:0", withheld: () => new Set(), log: createLogger("test", "silent"), limits, limitLoopback });
    const limited = front({ requestsPerMinute: 3, tunnels: 1 }, true);
    const relayLimited = front({ requestsPerMinute: 2, tunnels: 1 }, true);
    const unlimited = front({ requestsPerMinute: 3, tunnels: 1 }, false);
    const [limitedAt, relayLimitedAt, unlimitedAt] = [await limited.start(), await relayLimited.start(), await unlimited.start()];
    /** Opens a relay connection through the front at `at`; its status line, and the socket (left open). */
    const relay = (at: string) =>
      new Promise<{ status: string; close: () => void }>((resolve, reject) => {
        const [h, p] = at.split(":");
        const socket = connect(Number(p), h!, () => socket.write("GET /relay HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"));
        socket.once("data", (d) => resolve({ status: String(d).split("\r\n")[0]!, close: () => socket.destroy() }));
        socket.on("error", reject);
      });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`http://${limitedAt}/health`)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const refused = await fetch(`http://${limitedAt}/health`);
      expect([refused.headers.get("retry-after"), await refused.text()]).toEqual(["60", "bootstrap front: more than 3 requests a minute from 127.0.0.1; try again in a minute"]);
      expect(requests).toBe(3);

      // Relay connections: one open at once, and they count against the requests a minute too.
      const first = await relay(relayLimitedAt);
      expect(first.status).toBe("HTTP/1.1 101 Switching Protocols");
      expect((await relay(relayLimitedAt)).status).toBe("HTTP/1.1 429 Too Many Requests");
      // A closed relay connection frees its place.
      first.close();
      await new Promise((r) => setTimeout(r, 200));
      const again = await relay(relayLimitedAt);
      expect(again.status).toBe("HTTP/1.1 101 Switching Protocols");
      again.close();
      await new Promise((r) => setTimeout(r, 200));
      expect((await relay(relayLimitedAt)).status).toBe("HTTP/1.1 429 Too Many Requests"); // a third in a minute

      // Loopback peers are this host's own processes: not limited by default.
      for (let i = 0; i < 5; i++) expect((await fetch(`http://${unlimitedAt}/health`)).status).toBe(200);
      const relays = [await relay(unlimitedAt), await relay(unlimitedAt)];
      expect(relays.map((r) => r.status)).toEqual(["HTTP/1.1 101 Switching Protocols", "HTTP/1.1 101 Switching Protocols"]);
      for (const r of relays) r.close();
    } finally {
      for (const f of [limited, relayLimited, unlimited]) await f.stop();
      for (const s of upgrades) s.destroy();
      await new Promise((r) => upstream.close(r));
    }
  });

  it("limits a connection by its remote host, except this machine's own (loopback, or from the address it reached)", () => {
    expect(limitKey("192.168.1.7", "192.168.1.5", false)).toBe("192.168.1.7");
    expect(limitKey("::ffff:192.168.1.7", "192.168.1.5", false)).toBe("192.168.1.7");
    expect(limitKey("2001:db8:1:2:aaaa::1", "2001:db8:1:2::5", false)).toBe("2001:db8:1:2::/64");
    expect(limitKey(undefined, "192.168.1.5", false)).toBe("unknown");
    // This machine: the host's own conductor reaches the front on the LAN address, from that address.
    expect(limitKey("192.168.1.5", "192.168.1.5", false)).toBeUndefined();
    expect(limitKey("::ffff:192.168.1.5", "192.168.1.5", false)).toBeUndefined();
    expect(limitKey("127.0.0.1", "127.0.0.1", false)).toBeUndefined();
    expect(limitKey("::1", "::1", false)).toBeUndefined();
    expect(limitKey("127.0.0.1", "127.0.0.1", true)).toBe("127.0.0.1");
  });

  it("filters listings: unreadable entries are kept, a body that is not a list is returned as it is", () => {
    const body = JSON.stringify([{ agentInfo: JSON.stringify({ agent: "a" }) }, { agentInfo: "not json" }, { other: 1 }, { agentInfo: JSON.stringify({ agent: "b" }) }]);
    const out = filterListing(body, new Set(["b"]));
    expect(out.withheld).toBe(1);
    expect(JSON.parse(out.body)).toHaveLength(3);
    expect(filterListing("{}", new Set(["b"]))).toEqual({ body: "{}", withheld: 0 });
    expect(filterListing("[", new Set(["b"]))).toEqual({ body: "[", withheld: 0 });
  });

  it("maps a Holochain AgentPubKey to kitsune2's agent id and refuses other lengths", () => {
    const core = randomBytes(32);
    const key = Uint8Array.from([0x84, 0x20, 0x24, ...core, 1, 2, 3, 4]);
    expect(kitsuneAgentId(key)).toBe(core.toString("base64url"));
    expect(() => kitsuneAgentId(core)).toThrow(/39 bytes/);
  });

  it("counts a bound agent dead only when no peer bound to it is connected", () => {
    const key = (n: number) => Uint8Array.from([0x84, 0x20, 0x24, ...Buffer.alloc(32, n), 0, 0, 0, 0]);
    const bound = [
      { peerId: "p1", agentPubKey: key(1), lastSeenMs: 0 },
      { peerId: "p2", agentPubKey: key(2), lastSeenMs: 0 },
      // The same agent under a new libp2p key (a restart with a fresh peer id), connected: alive.
      { peerId: "p3-old", agentPubKey: key(3), lastSeenMs: 0 },
      { peerId: "p3-new", agentPubKey: key(3), lastSeenMs: 0 },
    ];
    const dead = disconnectedBoundAgents(bound, ["p1", "p3-new"]).map(kitsuneAgentId);
    expect(dead).toEqual([kitsuneAgentId(key(2))]);
  });
});
