// NATS as the event bus beside the DHT, with a real nats-server and a real single-node local mesh
// (`ripple up --nats nats://127.0.0.1:PORT`, conductor, the real models): a subscriber on
// ripple.local.job.> sees an HTTP-submitted job's events in order; an MOE job and an ask submitted by
// request-reply answer with the same JSON shape as over HTTP, and their job events appear like any
// other; bad submissions get the HTTP error body naming the field; the status names the server; a
// server beyond loopback without credentials is refused before anything starts. In-process, the bus
// with `--nats local`: its own nats-server with nkey or token auth, restarted when killed, the bus
// reconnecting to it, and stopped with the bus.
import { existsSync, readFileSync } from "node:fs";
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { connect, nkeyAuthenticator, nkeys, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiErrorBody, AskResult, DaemonStatus, MoeResult, NatsEventPayload } from "@ripple-mesh/api-types";
import { LocalApiClient } from "../src/api/api-client.ts";
import { readApiDescriptor } from "../src/api/api-descriptor.ts";
import { createLogger } from "../src/log.ts";
import { NatsBus } from "../src/nats/nats-bus.ts";
import { natsSettings } from "../src/nats/nats-settings.ts";
import { fakeInference } from "./support/fake-inference.ts";
import { startNatsServer, type TestNatsServer } from "./support/nats-server.ts";
import { ripple, type RippleDaemon } from "./support/ripple-process.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const dec = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as unknown;

type Seen = { subject: string; payload: NatsEventPayload & Record<string, any> };

let server: TestNatsServer | undefined;
// Registered before the fleet's cleanup, so it runs after it (after-hooks run in reverse): the
// daemon leaves the server before the server goes.
afterAll(async () => server?.stop());
const clients: NatsConnection[] = [];
const fleet = new TestFleet(async () => Promise.all(clients.map((c) => c.close())));

/** A client that records every message on `subject`. */
async function subscriber(address: string, subject: string, opts: Parameters<typeof connect>[0] = {}): Promise<{ nc: NatsConnection; seen: Seen[] }> {
  const nc = await connect({ servers: address, ...opts });
  clients.push(nc);
  const seen: Seen[] = [];
  nc.subscribe(subject, {
    callback: (err, msg) => {
      // Submissions (requests from this test, some deliberately not JSON) travel under ripple.local.> too.
      if (!err && !msg.subject.includes(".submit.")) seen.push({ subject: msg.subject, payload: dec(msg.data) as Seen["payload"] });
    },
  });
  await nc.flush();
  return { nc, seen };
}

/** The messages of one MOE job (by trace id) on the job subjects, in arrival order. */
const jobMessages = (seen: Seen[], trace: string) => seen.filter((m) => (m.payload.job?.trace_id ?? m.payload.trace_id) === trace);

describe("NATS beside a real single-node local mesh", { timeout: 600_000 }, () => {
  let node: RippleDaemon;
  let apiUrl: string;
  let all: Seen[];
  let jobs: Seen[];
  let nc: NatsConnection;
  let httpMoe: MoeResult;

  beforeAll(async () => {
    server = await startNatsServer();
    ({ seen: all } = await subscriber(server.address, "ripple.local.>"));
    ({ nc, seen: jobs } = await subscriber(server.address, "ripple.local.job.>"));
    node = fleet.up("nats-node", ["--network", "local", "--no-measure", "--nats", server.url]);
    await node.waitUntilRunning();
    apiUrl = (await readApiDescriptor(node.dataDir))!.url;
  });

  const http = async (path: string, body: unknown) => {
    const res = await fetch(`${apiUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return res.json() as Promise<unknown>;
  };
  const request = async (what: "moe" | "ask", body: unknown) => dec((await nc.request(`ripple.local.submit.${what}`, enc(body), { timeout: 300_000 })).data);

  it("names the server in the status, and publishes the node's mesh and peer events", async () => {
    const status = (await (await fetch(`${apiUrl}/v1/status`)).json()) as DaemonStatus;
    expect(status.nats).toBe(server!.url);
    const shown = await node.cli(["status"]);
    expect(shown.stdout).toMatch(new RegExp(`^nats\\s+${server!.url.replace(/\./g, "\\.")}$`, "m"));
    const joined = await waitFor("mesh.joined on NATS", async () => all.find((m) => m.subject === "ripple.local.mesh.joined"), { timeoutMs: 10_000 });
    expect(joined.payload).toMatchObject({ v: 1, type: "mesh:joined", network: "local" });
    expect(new Date(joined.payload.time).toISOString()).toBe(joined.payload.time);
    const peers = all.filter((m) => m.subject.startsWith("ripple.local.peer."));
    console.log(`[nats-bus] subjects seen at start: ${[...new Set(all.map((m) => m.subject))].join(", ")}`);
    for (const p of peers) expect(p.payload.type).toBe(`peer:${p.subject.split(".").at(-1)}`);
  });

  it("shows an HTTP-submitted MOE job's events on ripple.local.job.> in order: started, progress…, finished", async () => {
    const client = await LocalApiClient.forDataDir(node.dataDir);
    const t0 = Date.now();
    httpMoe = await client.moe({ prompt: "What is the capital of France?", experts: 2, max_tokens: 8 });
    console.log(`[nats-bus] HTTP MOE: ${JSON.stringify(httpMoe.response)} in ${Date.now() - t0} ms, ${httpMoe.model_votes.length} votes`);
    const trace = httpMoe.trace_id;
    await waitFor("job.finished on NATS", async () => jobMessages(jobs, trace).find((m) => m.subject === "ripple.local.job.finished"), { timeoutMs: 10_000 });
    const mine = jobMessages(jobs, trace);
    const kinds = mine.map((m) => m.subject.replace("ripple.local.job.", ""));
    expect(kinds[0]).toBe("started");
    expect(kinds.at(-1)).toBe("finished");
    expect(kinds.slice(1, -1).length).toBeGreaterThan(0);
    expect(new Set(kinds.slice(1, -1))).toEqual(new Set(["progress"]));
    for (const m of mine) {
      expect(m.payload.v).toBe(1);
      expect(m.payload.type).toBe(`moe:job-${m.subject.split(".").at(-1)}`);
    }
    const times = mine.map((m) => Date.parse(m.payload.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(mine[0]!.payload.job).toMatchObject({ trace_id: trace, status: "running" });
    expect(mine.at(-1)!.payload.job).toMatchObject({ trace_id: trace, status: "done" });
    // The progress events are the job's MoeEvents: each slot assigned, then answered.
    const progress = mine.slice(1, -1).map((m) => m.payload.event as { type: string; slot: number });
    expect(progress.filter((e) => e.type === "moe:assigned").length).toBeGreaterThanOrEqual(httpMoe.model_votes.length);
    for (const v of httpMoe.model_votes) {
      const assigned = progress.findIndex((e) => e.type === "moe:assigned" && e.slot === v.slot);
      const answered = progress.findIndex((e) => e.type === "moe:answer" && e.slot === v.slot);
      expect(assigned).toBeGreaterThanOrEqual(0);
      expect(answered).toBeGreaterThan(assigned);
    }
  });

  it("answers an MOE job submitted by request-reply with the HTTP result's shape; its events appear like any job's", async () => {
    const t0 = Date.now();
    const result = (await request("moe", { prompt: "What is the capital of Italy?", experts: 2, max_tokens: 8 })) as MoeResult;
    console.log(`[nats-bus] NATS MOE: ${JSON.stringify(result.response)} in ${Date.now() - t0} ms`);
    expect("error" in result, JSON.stringify(result)).toBe(false);
    expect(Object.keys(result).sort()).toEqual(Object.keys(httpMoe).sort());
    expect(Object.keys(result.model_votes[0]!).sort()).toEqual(Object.keys(httpMoe.model_votes[0]!).sort());
    expect(result.trace_id).not.toBe(httpMoe.trace_id);
    expect(result.model_votes.length).toBeGreaterThanOrEqual(1);
    expect(result.response.length).toBeGreaterThan(0);
    await waitFor("the NATS job's job.finished", async () => jobMessages(jobs, result.trace_id).find((m) => m.subject.endsWith(".finished")), { timeoutMs: 10_000 });
    const kinds = jobMessages(jobs, result.trace_id).map((m) => m.subject.split(".").at(-1));
    expect(kinds[0]).toBe("started");
    expect(kinds.at(-1)).toBe("finished");
    expect(kinds).toContain("progress");
    // And in the node's job history, like a job submitted over HTTP.
    const listed = (await (await fetch(`${apiUrl}/v1/jobs`)).json()) as Array<{ trace_id: string; status: string }>;
    expect(listed.find((j) => j.trace_id === result.trace_id)?.status).toBe("done");
  });

  it("answers an ask submitted by request-reply with the HTTP answer's shape", async () => {
    const body = { model: QWEN, prompt: "Say hello.", max_tokens: 4, temperature: 0, seed: 1 };
    const overHttp = (await http("/v1/ask", body)) as AskResult;
    const overNats = (await request("ask", body)) as AskResult;
    expect(Object.keys(overNats).sort()).toEqual(Object.keys(overHttp).sort());
    expect(overNats).toMatchObject({ model: QWEN, text: overHttp.text, tokens: overHttp.tokens });
  });

  it("publishes a model loaded and unloaded over HTTP on ripple.local.model.*", async () => {
    const model = "ripple-tiny-test";
    expect(await http(`/v1/models/${model}/load`, {})).toMatchObject({ name: model, loaded: true });
    expect(await http(`/v1/models/${model}/unload`, {})).toMatchObject({ name: model, loaded: false });
    const seen = await waitFor("model.unloaded on NATS", async () => {
      const m = all.filter((x) => x.subject.startsWith("ripple.local.model.") && x.payload.model?.name === model);
      return m.some((x) => x.subject === "ripple.local.model.unloaded") ? m : undefined;
    }, { timeoutMs: 10_000 });
    expect(seen.map((m) => m.subject)).toEqual(["ripple.local.model.loaded", "ripple.local.model.unloaded"]);
    expect(seen[0]!.payload).toMatchObject({ v: 1, type: "model:loaded", model: { name: model, loaded: true } });
    expect(seen[1]!.payload).toMatchObject({ type: "model:unloaded", model: { name: model, loaded: false } });
    expect(seen[0]!.payload.model.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("answers bad submissions with the HTTP error body, naming the field; an oversized body before parsing", async () => {
    for (const [what, body] of [
      ["moe", {}],
      ["moe", { prompt: "hi", experts: 99 }],
      ["ask", { model: "no-such-model", prompt: "hi" }],
    ] as const) {
      const reply = (await request(what, body)) as ApiErrorBody;
      expect(reply, JSON.stringify(body)).toEqual(await http(`/v1/${what}`, body));
    }
    expect(((await request("moe", {})) as ApiErrorBody).error).toMatchObject({ code: "bad_request", message: "invalid moe request: prompt is missing" });
    expect(((await request("moe", { prompt: "hi", experts: 99 })) as ApiErrorBody).error.message).toContain("experts");
    // 300 KB: over the inference body limit (256 KiB), under the server's max_payload (1 MiB).
    const big = (await request("moe", { prompt: "x".repeat(300_000) })) as ApiErrorBody;
    expect(big.error).toMatchObject({ code: "body_too_large", fix: "send a smaller body" });
    expect(((await request("moe", "{not json")) as ApiErrorBody).error.code).toBe("invalid_json");
    // 2 MB does not even leave the client: over the server's max_payload (1 MiB by default).
    await expect(request("moe", { prompt: "x".repeat(2 * 1024 * 1024) })).rejects.toThrow(/payload/i);
    expect(nc.isClosed()).toBe(false);
  });

  it("`ripple up --nats` with a server beyond loopback and no credentials exits at once with the fix, starting nothing", async () => {
    const dataDir = fleet.tempDir("rm-nats-refused-");
    const r = await ripple(["--data-dir", dataDir, "up", "--nats", "nats://10.1.2.3:4222"], { env: { RIPPLE_NATS_TOKEN: "", RIPPLE_NATS_NKEY_SEED: "" }, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ripple: error: refusing to use the NATS server nats://10.1.2.3:4222 without a token or an nkey");
    expect(r.stderr).toContain("Fix: set RIPPLE_NATS_TOKEN");
    expect(existsSync(join(dataDir, "api.json"))).toBe(false);
    expect(existsSync(join(dataDir, "local"))).toBe(false);
  });
});

describe("the bus with --nats local (in-process, fake inference)", { timeout: 120_000 }, () => {
  const log = createLogger("test", "silent");

  it("starts its own nats-server with nkey auth, restarts it when killed and reconnects, and stops it", async () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const events = new EventEmitter();
    const dataDir = fleet.tempDir("rm-nats-local-");
    const bus = await NatsBus.start({ settings: natsSettings("local", { RIPPLE_NATS_NKEY_SEED: seed }), dataDir, name: "t", network: "local", events, inference: fakeInference(), log });
    try {
      const address = bus.url.replace("nats://", "");
      expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(bus.connectedUrl).toBe(bus.url);
      await expect(connect({ servers: address, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
      const { nc, seen } = await subscriber(address, "ripple.local.>", { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), reconnectTimeWait: 250, maxReconnectAttempts: -1 });
      events.emit("event", { type: "peer:offline", peer: { name: "bob" } });
      await waitFor("peer.offline", async () => seen.find((m) => m.subject === "ripple.local.peer.offline"), { timeoutMs: 5000 });
      const answer = dec((await nc.request("ripple.local.submit.ask", enc({ model: "tiny", prompt: "hi" }), { timeout: 10_000 })).data) as AskResult;
      expect(answer).toMatchObject({ text: "Hello, mesh!", model: "tiny" });

      const pidFile = join(dataDir, "nats", "nats-server.pid");
      const pid = Number(readFileSync(pidFile, "utf8"));
      process.kill(pid, "SIGKILL");
      await waitFor("the bus disconnected", async () => (bus.connectedUrl === null ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
      await waitFor("nats-server restarted and the bus reconnected", async () => (bus.connectedUrl === bus.url ? true : undefined), { timeoutMs: 30_000 });
      const newPid = Number(readFileSync(pidFile, "utf8"));
      expect(newPid).not.toBe(pid);
      await waitFor("the client reconnected", async () => (!nc.isClosed() && (await nc.flush().then(() => true, () => undefined))) || undefined, { timeoutMs: 30_000 });
      events.emit("event", { type: "peer:online", peer: { name: "bob" } });
      await waitFor("peer.online after the restart", async () => seen.find((m) => m.subject === "ripple.local.peer.online"), { timeoutMs: 10_000 });

      await bus.stop();
      expect(existsSync(`/proc/${newPid}`) && !readFileSync(`/proc/${newPid}/stat`, "utf8").includes(") Z ")).toBe(false);
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      await bus.stop();
    }
  });

  it("with RIPPLE_NATS_TOKEN, its server takes that token and nothing else", async () => {
    const token = "t0ken-for-the-local-server";
    const bus = await NatsBus.start({ settings: natsSettings("local", { RIPPLE_NATS_TOKEN: token }), dataDir: fleet.tempDir("rm-nats-token-"), name: "t", network: "local", events: new EventEmitter(), inference: fakeInference(), log });
    try {
      const address = bus.url.replace("nats://", "");
      await expect(connect({ servers: address, reconnect: false, token: "wrong" })).rejects.toThrow(/Authorization Violation/i);
      const nc = await connect({ servers: address, token });
      clients.push(nc);
      const answer = dec((await nc.request("ripple.local.submit.moe", enc({ prompt: "2+2?", experts: 1 }), { timeout: 10_000 })).data) as MoeResult;
      expect(answer.response).toBe("answer to: 2+2?");
    } finally {
      await bus.stop();
    }
  });
});
