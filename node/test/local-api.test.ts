// The daemon's local HTTP + WebSocket API over real sockets, against an in-test ApiSource (this file
// tests the API seam itself: routes, the event stream, limits and who may call it).
import { EventEmitter } from "node:events";
import { request } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LocalApiClient } from "../src/api/api-client.ts";
import { DaemonNotReadyError } from "../src/errors.ts";
import { LocalApiStartError, startLocalApi, WS_CLOSE_TOO_SLOW, type ApiSource, type LocalApi, type LocalApiOptions } from "../src/api/local-api.ts";
import { WebSocket, type WsSocket } from "../src/api/ws.ts";
import { RippleError } from "../src/errors.ts";
import { createLogger } from "../src/log.ts";

const log = createLogger("test", "silent");
const TOKEN = "0123456789abcdef0123456789abcdef";

function fakeSource() {
  return {
    status: vi.fn(async (): Promise<unknown> => ({ name: "n1", phase: "running" })),
    peers: vi.fn(async (): Promise<unknown> => [{ agentPubKey: "uhCAkA", online: true }]),
    shutdown: vi.fn(async () => {}),
    join: vi.fn(async (req: unknown): Promise<unknown> => ({ joined: req })),
    events: new EventEmitter(),
  } satisfies ApiSource;
}

const started: LocalApi[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.close()));
});

async function start(opts: Partial<LocalApiOptions> = {}) {
  const source = fakeSource();
  const api = await startLocalApi({ log, source, ...opts });
  started.push(api);
  return { api, source };
}

interface RawResponse {
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

/** A raw HTTP request (node:http lets a test send any Host/Origin header). */
function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // leave as text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(body);
  });
}

/** Opens a WebSocket; resolves with the socket and the messages it receives, or rejects with the refusal. */
function openWs(url: string, headers: Record<string, string> = {}): Promise<{ ws: WsSocket; messages: any[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 3000 });
    const messages: any[] = [];
    const closed = new Promise<number>((r) => ws.on("close", (code: number) => r(code)));
    ws.on("message", (data: Buffer) => messages.push(JSON.parse(data.toString())));
    ws.on("open", () => resolve({ ws, messages, closed }));
    ws.on("unexpected-response", (_req: unknown, res: { statusCode: number }) => {
      reject(new Error(`refused with HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.on("error", reject);
  });
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))]);
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("local API routes", () => {
  it("serves status, peers and healthz as JSON from the source", async () => {
    const { api, source } = await start();
    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    const client = new LocalApiClient({ url: api.url });
    expect(await client.status()).toEqual({ name: "n1", phase: "running" });
    expect(await client.peers()).toEqual([{ agentPubKey: "uhCAkA", online: true }]);
    expect(await client.health()).toEqual({ ok: true });
    expect(source.status).toHaveBeenCalledTimes(1);

    const raw = await http(api.port, "GET", "/v1/peers");
    expect(raw.status).toBe(200);
    expect(raw.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("streams events over WebSocket in order, starting with hello", async () => {
    const { api, source } = await start();
    const events = new LocalApiClient({ url: api.url }).events();
    const hello = await events.next();
    expect(hello.value).toMatchObject({ type: "hello", version: 1 });
    for (let i = 0; i < 20; i++) source.events.emit("event", { type: "peer:seen", i });
    const got: unknown[] = [];
    for (let i = 0; i < 20; i++) got.push((await events.next()).value);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => ({ type: "peer:seen", i })));
    await events.return(undefined);
  });

  it("ends a client's event stream cleanly when the API closes", async () => {
    const { api } = await start();
    const events = new LocalApiClient({ url: api.url }).events();
    expect((await events.next()).value).toMatchObject({ type: "hello" });
    const raw = await openWs(`${api.url.replace("http", "ws")}/v1/events`);
    const silent = await openWs(`${api.url.replace("http", "ws")}/v1/events`);
    silent.ws.pause(); // never answers the close handshake
    const began = Date.now();
    await api.close();
    expect(Date.now() - began).toBeLessThan(3000); // not ws's 30 s close timeout
    expect(await events.next()).toEqual({ done: true, value: undefined });
    expect(await raw.closed).toBe(1001); // "going away"
    silent.ws.terminate();
  });

  it("drops a WebSocket client that stops reading, while a reading client gets every event", { timeout: 15_000 }, async () => {
    const { api, source } = await start({ wsMaxBufferedBytes: 512 * 1024 });
    const wsUrl = `${api.url.replace("http", "ws")}/v1/events`;
    const reader = await openWs(wsUrl);
    const stalled = await openWs(wsUrl);
    await until(() => reader.messages.length === 1 && stalled.messages.length === 1, "both hellos");
    stalled.ws.pause(); // stops reading: TCP fills up, then the server's send buffer grows

    const big = "x".repeat(64 * 1024);
    const total = 400; // 25 MiB: more than loopback's socket buffers can hide
    for (let i = 0; i < total; i++) {
      source.events.emit("event", { type: "blob", i, big });
      await new Promise((r) => setImmediate(r));
    }
    await until(() => reader.messages.length === total + 1, "the reading client's events", 10_000);
    expect(reader.messages.at(-1)).toMatchObject({ type: "blob", i: total - 1 });

    stalled.ws.resume();
    expect(await within(stalled.closed, 5000, "the stalled client to be dropped")).toBe(WS_CLOSE_TOO_SLOW);
    expect(stalled.messages.length).toBeLessThan(total + 1);
    reader.ws.close();
  });

  it("answers POST /v1/shutdown with 202 and calls source.shutdown exactly once", async () => {
    const { api, source } = await start();
    const client = new LocalApiClient({ url: api.url });
    await client.shutdown();
    await until(() => source.shutdown.mock.calls.length === 1, "shutdown");
    const again = await http(api.port, "POST", "/v1/shutdown");
    expect(again.status).toBe(202);
    await new Promise((r) => setTimeout(r, 50));
    expect(source.shutdown).toHaveBeenCalledTimes(1);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const { api } = await start();
    const res = await http(api.port, "GET", "/v1/nope?x=1");
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "not_found", message: "no route GET /v1/nope" });
    expect(res.body.error.fix).toContain("/v1/status");
  });

  it("refuses bodies over the limit with 413 and invalid JSON with 400, before acting", async () => {
    const { api, source } = await start({ bodyLimitBytes: 1024 });
    const big = await http(api.port, "POST", "/v1/shutdown", { "content-type": "application/json" }, JSON.stringify({ pad: "x".repeat(2000) }));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("body_too_large");
    const bad = await http(api.port, "POST", "/v1/join", { "content-type": "application/json" }, "{not json");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_json");
    const wrongShape = await http(api.port, "POST", "/v1/join", { "content-type": "application/json" }, JSON.stringify({ net: "local" }));
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.body.error.message).toContain("network");
    expect(source.shutdown).not.toHaveBeenCalled();
    expect(source.join).not.toHaveBeenCalled();

    const client = new LocalApiClient({ url: api.url });
    expect(await client.join({ network: "testnet", bootstrapUrl: "https://b.example:443" })).toEqual({
      joined: { network: "testnet", bootstrapUrl: "https://b.example:443" },
    });
  });

  it("maps source errors to JSON: RippleError → 500 with its fix, DaemonNotReadyError → 503", async () => {
    const { api, source } = await start();
    source.status.mockRejectedValueOnce(new RippleError("the conductor is gone", "restart with `ripple up`"));
    const failed = await http(api.port, "GET", "/v1/status");
    expect(failed.status).toBe(500);
    expect(failed.body.error).toEqual({ code: "failed", message: "the conductor is gone", fix: "restart with `ripple up`" });

    source.peers.mockRejectedValueOnce(new DaemonNotReadyError("the node is still starting", "retry in a few seconds"));
    const client = new LocalApiClient({ url: api.url });
    const err = await client.peers().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: "not_ready", fix: "retry in a few seconds" });
    expect((err as Error).message).toContain("the node is still starting");
  });
});

describe("local API security", () => {
  it("refuses to listen beyond loopback without a token, naming the fix", async () => {
    await expect(startLocalApi({ host: "0.0.0.0", log, source: fakeSource() })).rejects.toThrow(LocalApiStartError);
    await expect(startLocalApi({ host: "0.0.0.0", log, source: fakeSource() })).rejects.toThrow(/without a token.*RIPPLE_API_TOKEN.*--api-host 127\.0\.0\.1/s);
    await expect(startLocalApi({ host: "0.0.0.0", token: "short", log, source: fakeSource() })).rejects.toThrow(/too short/);
  });

  it("with a token, requires it on every request and on the WebSocket upgrade", async () => {
    const { api } = await start({ host: "0.0.0.0", token: TOKEN });
    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    const none = await http(api.port, "GET", "/v1/status");
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("unauthorized");
    expect((await http(api.port, "GET", "/healthz")).status).toBe(401);
    expect((await http(api.port, "POST", "/v1/shutdown", { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await http(api.port, "GET", "/v1/status", { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    // A query token is only for WebSockets (browsers cannot set their headers).
    expect((await http(api.port, "GET", `/v1/status?token=${TOKEN}`)).status).toBe(401);

    await expect(new LocalApiClient({ url: api.url }).status()).rejects.toMatchObject({ status: 401 });
    expect(await new LocalApiClient({ url: api.url, token: TOKEN }).status()).toEqual({ name: "n1", phase: "running" });

    const wsUrl = `${api.url.replace("http", "ws")}/v1/events`;
    await expect(openWs(wsUrl)).rejects.toThrow("HTTP 401");
    await expect(openWs(`${wsUrl}?token=wrong-${TOKEN}`)).rejects.toThrow("HTTP 401");
    const byQuery = await openWs(`${wsUrl}?token=${TOKEN}`);
    await until(() => byQuery.messages.length === 1, "hello");
    expect(byQuery.messages[0].type).toBe("hello");
    byQuery.ws.close();
    const events = new LocalApiClient({ url: api.url, token: TOKEN }).events();
    expect((await events.next()).value).toMatchObject({ type: "hello" });
    await events.return(undefined);
  });

  it("refuses cross-origin browser requests (HTTP and WebSocket) with 403", async () => {
    const { api, source } = await start();
    const evil = await http(api.port, "POST", "/v1/shutdown", { origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe("forbidden_origin");
    expect((await http(api.port, "GET", "/v1/status", { origin: "null" })).status).toBe(403);
    // Another local port is another origin too.
    expect((await http(api.port, "GET", "/v1/status", { origin: `http://127.0.0.1:${api.port + 1}` })).status).toBe(403);
    await expect(openWs(`${api.url.replace("http", "ws")}/v1/events`, { origin: "http://evil.example" })).rejects.toThrow("HTTP 403");
    // The API's own origin (a UI it serves) is fine.
    expect((await http(api.port, "GET", "/v1/status", { origin: api.url })).status).toBe(200);
    expect(source.shutdown).not.toHaveBeenCalled();
  });

  it("refuses a Host header that is not a name of the API (DNS rebinding) with 403", async () => {
    const { api } = await start();
    const res = await http(api.port, "GET", "/v1/status", { host: `evil.example:${api.port}` });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden_host");
    expect(res.body.error.fix).toContain(api.url);
    expect((await http(api.port, "GET", "/v1/status", { host: `localhost:${api.port}` })).status).toBe(200);
    expect((await http(api.port, "GET", "/v1/status", { host: `[::1]:${api.port}` })).status).toBe(200);
    // A port part that is not a port (the header is echoed into the UI's CSP) is refused too.
    for (const host of [`localhost:${api.port}; script-src *`, `127.0.0.1:x`, `[::1]:${api.port} evil`]) {
      expect((await http(api.port, "GET", "/v1/status", { host })).status, host).toBe(403);
    }
  });

  it("reports a port in use with the address and the fix", async () => {
    const { api } = await start();
    const err = await startLocalApi({ port: api.port, log, source: fakeSource() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalApiStartError);
    expect((err as Error).message).toContain(`127.0.0.1:${api.port}`);
    expect((err as RippleError).fix).toMatch(/--api-port.*stop the other process/);
  });
});

describe("an artifact's bytes (any peer's) are served as a download, never as a page", () => {
  const page = "<script>fetch('/v1/shutdown', { method: 'POST' })</script>";
  /** A mesh whose artifact_index registers `page` under the mime a peer chose. */
  function withArtifact(mime: string) {
    const read = vi.fn(async () => ({ bytes: Buffer.from(page), sha256: "ab".repeat(32), artifact: { mime } }));
    // The routes need only `artifacts.read` here; `shards` must exist for them to count IPFS as running.
    return { artifacts: () => ({ artifacts: { read }, shards: {} }) as never };
  }

  it("a peer's text/html is sent as an octet-stream attachment in a sandbox, its mime named in a header of its own", async () => {
    const source = { ...fakeSource(), ...withArtifact("text/html") };
    const api = await startLocalApi({ log, source });
    started.push(api);
    const res = await http(api.port, "GET", "/v1/artifacts/bafkreiabcdefgh/content");
    expect(res.status).toBe(200);
    expect(res.body).toBe(page);
    expect(res.headers["content-type"]).toBe("application/octet-stream");
    expect(res.headers["content-disposition"]).toBe('attachment; filename="bafkreiabcdefgh"');
    expect(res.headers["content-security-policy"]).toBe("default-src 'none'; sandbox");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-ripple-mime"]).toBe("text/html");
    expect(source.shutdown).not.toHaveBeenCalled();
    const viaClient = await new LocalApiClient({ url: api.url }).artifactContent("bafkreiabcdefgh");
    expect(viaClient).toMatchObject({ mime: "text/html", sha256: "ab".repeat(32), registered: true });
    expect(viaClient.bytes.toString("utf8")).toBe(page);
  });

  it("a registered mime is echoed as its type/subtype only, and not at all when those are not plain names", async () => {
    const mimeFor = async (mime: string) => {
      const api = await startLocalApi({ log, source: { ...fakeSource(), ...withArtifact(mime) } });
      started.push(api);
      const res = await http(api.port, "GET", "/v1/artifacts/bafkreiabcdefgh/content");
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("application/octet-stream");
      return res.headers["x-ripple-mime"];
    };
    expect(await mimeFor("text/plain; charset=utf-8")).toBe("text/plain");
    expect(await mimeFor("application/vnd.gguf; chunker=size-1048576; raw-leaves=1")).toBe("application/vnd.gguf");
    expect(await mimeFor("text/<script>; x=\"\u00e9\"")).toBeUndefined();
    expect(await mimeFor("\u00e9t\u00e9/html")).toBeUndefined();
  });

  it("every JSON answer of the API forbids sniffing, scripts and framing too", async () => {
    const { api } = await start();
    for (const path of ["/v1/status", "/v1/no-such-route"]) {
      const res = await http(api.port, "GET", path);
      expect(res.headers["x-content-type-options"], path).toBe("nosniff");
      expect(res.headers["content-security-policy"], path).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });
});
