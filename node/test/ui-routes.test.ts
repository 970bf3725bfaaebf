// The web UI's side of the local API, over real sockets: the built UI served from an allow-list with
// its security headers, behind the same Host guard as the API; the job history and policy routes.
import { EventEmitter } from "node:events";
import { request } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startLocalApi, type ApiSource, type LocalApi } from "../src/api/local-api.ts";
import { createLogger } from "../src/log.ts";
import { ServedSlots } from "../src/worker/served-slots.ts";
import { MoeHistory } from "../src/moe/moe-history.ts";

const log = createLogger("test", "silent");
const root = mkdtempSync("/tmp/rm-ui-routes-");
const dist = join(root, "dist");
mkdirSync(join(dist, "assets"), { recursive: true });
writeFileSync(join(dist, "index.html"), "<!doctype html><title>ui</title>");
writeFileSync(join(dist, "assets", "index-abc.js"), "console.log(1)");
writeFileSync(join(dist, "favicon.svg"), "<svg/>");
writeFileSync(join(dist, ".build-inputs.sha256"), "secret-ish");
writeFileSync(join(root, "outside.txt"), "must not be served");

afterAll(() => rmSync(root, { recursive: true, force: true }));
const started: LocalApi[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.close()));
});

async function start(uiDir: string, extra: Partial<ApiSource> = {}, token?: string) {
  const source: ApiSource = { status: async () => ({}), peers: async () => [], shutdown: async () => {}, events: new EventEmitter(), ...extra };
  const api = await startLocalApi({ log, source, uiDir, ...(token ? { token } : {}) });
  started.push(api);
  return api;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, timeout: 5000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the web UI on the local API", () => {
  it("serves index.html at / with a strict CSP, and hashed assets cached for good", async () => {
    const api = await start(dist);
    const index = await get(api.port, "/");
    expect(index.status).toBe(200);
    expect(index.text).toContain("<title>ui</title>");
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["cache-control"]).toBe("no-cache");
    expect(index.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(index.headers["content-security-policy"]).toContain(`connect-src 'self' ws://127.0.0.1:${api.port}`);
    expect(index.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(index.headers["x-content-type-options"]).toBe("nosniff");
    const js = await get(api.port, "/assets/index-abc.js?v=1");
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toContain("immutable");
    expect((await get(api.port, "/favicon.svg")).headers["content-type"]).toBe("image/svg+xml");
  });

  it("serves only files of the build: dot files, other paths and traversal get the API's JSON 404", async () => {
    const api = await start(dist);
    for (const path of ["/.build-inputs.sha256", "/assets/nope.js", "/../outside.txt", "/assets/..%2F..%2Foutside.txt", "/%2e%2e/outside.txt"]) {
      const res = await get(api.port, path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.text).error.code, path).toBe("not_found");
    }
    expect((await get(api.port, "/v1/nope")).status).toBe(404);
  });

  it("refuses the UI under a foreign Host name (DNS rebinding), like the API", async () => {
    const api = await start(dist);
    const res = await get(api.port, "/", { host: `evil.example:${api.port}` });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text).error.code).toBe("forbidden_host");
  });

  it("with a token: the UI's own files load without it (the page then asks for it); everything else needs it", async () => {
    const token = "t".repeat(32);
    const api = await start(dist, {}, token);
    expect((await get(api.port, "/")).status).toBe(200);
    expect((await get(api.port, "/assets/index-abc.js")).status).toBe(200);
    expect((await get(api.port, "/favicon.svg")).status).toBe(200);
    // Not a UI file: the token guard answers (no hint of what exists).
    for (const path of ["/v1/status", "/v1/peers", "/.build-inputs.sha256", "/assets/other.js", "/healthz"]) {
      const res = await get(api.port, path);
      expect(res.status, path).toBe(401);
      expect(JSON.parse(res.text).error.code).toBe("unauthorized");
    }
    expect((await get(api.port, "/v1/status", { authorization: `Bearer ${token}` })).status).toBe(200);
    // Host and Origin are still checked on the UI's files.
    expect((await get(api.port, "/", { host: `evil.example:${api.port}` })).status).toBe(403);
    expect((await get(api.port, "/assets/index-abc.js", { origin: "http://evil.example" })).status).toBe(403);
  });

  it("says how to build the UI when it has not been built", async () => {
    const api = await start(join(root, "missing"));
    const res = await get(api.port, "/");
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).error).toMatchObject({ code: "ui_not_built" });
    expect(JSON.parse(res.text).error.fix).toContain("npm run setup");
  });

  it("lists recent jobs, returns one by trace id (JSON 404 otherwise), and the policies", async () => {
    const history = new MoeHistory();
    await history.run({ prompt: "hi", traceId: "trace-9" }, { signal: new AbortController().signal }, async (req) => ({
      response: "hello",
      consensus_score: 1,
      consensus_reached: true,
      model_votes: [],
      trace_id: req.traceId!,
      task_type: "short_answer",
      job: null,
      wall_ms: 5,
      failed_slots: [],
      diversity: "local",
      rejected_answers: [],
      cancelled_slots: [],
      stopped_early: false,
    }));
    const api = await start(dist, { jobs: history, policies: async () => ({ compute: { version: 1 }, inference: { default_task_type: "short_answer" } }) });
    const list = JSON.parse((await get(api.port, "/v1/jobs")).text);
    expect(list).toEqual([expect.objectContaining({ trace_id: "trace-9", status: "done", response: "hello" })]);
    const one = JSON.parse((await get(api.port, "/v1/jobs/trace-9")).text);
    expect(one).toMatchObject({ trace_id: "trace-9", prompt: "hi", result: { response: "hello" } });
    const missing = await get(api.port, "/v1/jobs/nope");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error.code).toBe("job_not_found");
    expect(JSON.parse((await get(api.port, "/v1/policies")).text)).toMatchObject({ compute: { version: 1 } });
    // Without a record of served slots the route is not there (not mistaken for a trace id).
    expect((await get(api.port, "/v1/jobs/served")).status).toBe(404);
  });

  it("lists the slots this node served for others at /v1/jobs/served, with requester names", async () => {
    const served = new ServedSlots({ isSelf: () => false });
    served.observe({ type: "job:started", job: "uhCkjob", slot: 1, epoch: 1, expert: "qwen-chat-greedy", requester: "uhCAkalice" });
    served.observe({ type: "job:answered", job: "uhCkjob", slot: 1, epoch: 1, tokens: 3, latency_ms: 420 });
    const history = new MoeHistory();
    const jobs = { list: () => history.list(), get: (t: string) => history.get(t), served: () => served.list((a) => (a === "uhCAkalice" ? "alice" : null)) };
    const api = await start(dist, { jobs });
    const list = JSON.parse((await get(api.port, "/v1/jobs/served")).text);
    expect(list).toEqual([expect.objectContaining({ job: "uhCkjob", slot: 1, requester_name: "alice", status: "answered", tokens: 3, latency_ms: 420 })]);
  });
});
