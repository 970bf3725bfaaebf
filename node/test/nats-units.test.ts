// The NATS door's parts without a server: what `--nats` accepts and refuses (a server beyond loopback
// without credentials is refused before anything connects), which subject and payload each daemon
// event gets, the local server's config, and the submission handler, whose answers and error bodies
// are compared with what the real HTTP routes answer for the same bodies (in-process local API).
import { EventEmitter } from "node:events";
import { nkeys } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsEventSubjects, type ApiErrorBody } from "@ripple-mesh/api-types";
import { startLocalApi, type LocalApi } from "../src/api/local-api.ts";
import { INFERENCE_BODY_LIMIT_BYTES } from "../src/api/inference-schemas.ts";
import { createLogger } from "../src/log.ts";
import { localServerConfig } from "../src/nats/local-nats-server.ts";
import { natsEventMessage } from "../src/nats/nats-events.ts";
import { NatsConfigError, natsSettings } from "../src/nats/nats-settings.ts";
import { NatsSubmissions } from "../src/nats/nats-submissions.ts";
import { fakeInference, until } from "./support/fake-inference.ts";

const log = createLogger("test", "silent");
const userSeed = new TextDecoder().decode(nkeys.createUser().getSeed());
const refusal = (value: string, env: NodeJS.ProcessEnv = {}): NatsConfigError => {
  try {
    natsSettings(value, env);
  } catch (err) {
    expect(err).toBeInstanceOf(NatsConfigError);
    return err as NatsConfigError;
  }
  throw new Error(`--nats ${value} was accepted`);
};

describe("--nats", () => {
  it("accepts local, and loopback servers without credentials", () => {
    expect(natsSettings("local", {})).toEqual({ server: { kind: "local" }, auth: { kind: "none" } });
    expect(natsSettings("nats://127.0.0.1:4333", {}).server).toEqual({ kind: "remote", url: "nats://127.0.0.1:4333", address: "127.0.0.1:4333", host: "127.0.0.1", loopback: true, tls: false });
    expect(natsSettings("nats://localhost", {}).server).toMatchObject({ address: "localhost:4222", loopback: true });
    expect(natsSettings("tls://[::1]:7422", {}).server).toMatchObject({ url: "tls://[::1]:7422", address: "[::1]:7422", loopback: true, tls: true });
  });

  it("refuses a server beyond loopback without a token or an nkey, saying how to fix it", () => {
    const err = refusal("nats://10.1.2.3:4222");
    expect(err.message).toContain("refusing to use the NATS server nats://10.1.2.3:4222 without a token or an nkey");
    expect(err.fix).toContain("RIPPLE_NATS_TOKEN");
    expect(err.fix).toContain("RIPPLE_NATS_NKEY_SEED");
    expect(refusal("nats://nats.example.org").message).toContain("nats://nats.example.org:4222");
    // An empty variable is no credential.
    refusal("nats://10.1.2.3:4222", { RIPPLE_NATS_TOKEN: "" });
  });

  it("takes a token (over TLS only) or a user nkey seed from the environment for such a server", () => {
    expect(natsSettings("tls://10.1.2.3:4222", { RIPPLE_NATS_TOKEN: "s3cret-token" }).auth).toEqual({ kind: "token", token: "s3cret-token" });
    // Without TLS the token would cross the network in clear; an nkey is never sent, so it needs no TLS.
    const clear = refusal("nats://10.1.2.3:4222", { RIPPLE_NATS_TOKEN: "s3cret-token" });
    expect(clear.message).toContain("without TLS");
    expect(clear.fix).toContain("tls://HOST:PORT");
    expect(natsSettings("nats://10.1.2.3:4222", { RIPPLE_NATS_NKEY_SEED: userSeed }).auth.kind).toBe("nkey");
    // On loopback a token needs no TLS.
    expect(natsSettings("nats://127.0.0.1:4222", { RIPPLE_NATS_TOKEN: "s3cret-token" }).auth.kind).toBe("token");
    const auth = natsSettings("tls://10.1.2.3", { RIPPLE_NATS_NKEY_SEED: `${userSeed}\n` }).auth;
    expect(auth).toEqual({ kind: "nkey", seed: userSeed, publicKey: nkeys.fromSeed(new TextEncoder().encode(userSeed)).getPublicKey() });
    expect(auth.kind === "nkey" && auth.publicKey).toMatch(/^U/);
  });

  it("refuses an open NATS server (local or loopback) when RIPPLE_API_TOKEN locks the local API", () => {
    for (const value of ["local", "nats://127.0.0.1:4222"]) {
      const open = refusal(value, { RIPPLE_API_TOKEN: "a".repeat(32) });
      expect(open.message).toContain("RIPPLE_API_TOKEN locks the local API");
      expect(open.fix).toContain("RIPPLE_NATS_TOKEN");
      expect(natsSettings(value, { RIPPLE_API_TOKEN: "a".repeat(32), RIPPLE_NATS_TOKEN: "t0ken" }).auth.kind).toBe("token");
    }
  });

  it("refuses unusable values and credentials", () => {
    expect(refusal("http://127.0.0.1:4222").message).toContain("scheme http:");
    expect(refusal("127.0.0.1:4222").fix).toContain("nats://HOST:PORT");
    expect(refusal("nats://127.0.0.1:4222/subject").message).toContain("is not a server address");
    expect(refusal("nats://user:pw@127.0.0.1:4222").message).toContain("must not hold credentials");
    expect(refusal("local", { RIPPLE_NATS_TOKEN: "a b" }).message).toContain("without spaces");
    expect(refusal("local", { RIPPLE_NATS_TOKEN: "t", RIPPLE_NATS_NKEY_SEED: userSeed }).message).toContain("both");
    expect(refusal("local", { RIPPLE_NATS_NKEY_SEED: "SUNOTASEED" }).message).toContain("is not an nkey seed");
    const accountSeed = new TextDecoder().decode(nkeys.createAccount().getSeed());
    expect(refusal("local", { RIPPLE_NATS_NKEY_SEED: accountSeed }).message).toContain("not a user's");
  });
});

describe("event messages", () => {
  const now = new Date("2026-01-02T03:04:05.678Z");

  it("put each published event on ripple.<network>.<kind>.<event> with the versioned payload", () => {
    const peer = { name: "bob", online: true };
    expect(natsEventMessage({ type: "peer:online", peer }, "local", now)).toEqual({
      subject: "ripple.local.peer.online",
      payload: { v: 1, type: "peer:online", time: "2026-01-02T03:04:05.678Z", peer },
    });
    const progress = { type: "moe:job-progress", trace_id: "t1", event: { type: "moe:token", slot: 0, text: "Pa" } };
    expect(natsEventMessage(progress, "testnet", now)).toEqual({ subject: "ripple.testnet.job.progress", payload: { v: 1, time: now.toISOString(), ...progress } });
    expect(natsEventMessage({ type: "moe:job-started", job: {} }, "local", now)?.subject).toBe("ripple.local.job.started");
    expect(natsEventMessage({ type: "moe:job-finished", job: {} }, "local", now)?.subject).toBe("ripple.local.job.finished");
    expect(natsEventMessage({ type: "job:answered", job: "x" }, "local", now)?.subject).toBe("ripple.local.worker.answered");
    expect(natsEventMessage({ type: "model:loaded", model: { name: "m" } }, "local", now)?.subject).toBe("ripple.local.model.loaded");
    expect(natsEventMessage({ type: "model:unloaded", model: { name: "m" } }, "local", now)?.subject).toBe("ripple.local.model.unloaded");
    expect(natsEventMessage({ type: "models:changed", added: ["m"], removed: [], changed: [] }, "local", now)?.subject).toBe("ripple.local.model.changed");
    expect(natsEventMessage({ type: "model:pulled", name: "m" }, "local", now)?.subject).toBe("ripple.local.model.pulled");
    expect(natsEventMessage({ type: "model:pull-failed", ref: "m" }, "local", now)?.subject).toBe("ripple.local.model.pull-failed");
    expect(natsEventMessage({ type: "model:pull-progress", name: "m", cid: "c", bytes: 1, total: 2, percent: 50, mbps: 1 }, "local", now)?.subject).toBe("ripple.local.model.pull-progress");
  });

  it("give every subject valid tokens, and skip what is not published", () => {
    for (const type of Object.keys(natsEventSubjects)) expect(natsEventMessage({ type }, "local", now)!.subject).toMatch(/^ripple\.local\.[a-z]+\.[a-z-]+$/);
    expect(natsEventMessage({ type: "hello" }, "local", now)).toBeUndefined();
    expect(natsEventMessage({ type: "something:new" }, "local", now)).toBeUndefined();
    expect(natsEventMessage("peer:online", "local", now)).toBeUndefined();
    expect(natsEventMessage({ type: "mesh:joined", network: "a.b *>" }, "a.b *>", now)?.subject).toBe("ripple.a_b___.mesh.joined");
  });
});

describe("the local nats-server's config", () => {
  it("listens on the given loopback address and holds the token (escaped) or the nkey's public key", () => {
    expect(localServerConfig("127.0.0.1:5000", { kind: "none" })).toBe('listen: "127.0.0.1:5000"\n');
    expect(localServerConfig("127.0.0.1:5000", { kind: "token", token: 'a"b\\c' })).toContain('authorization { token: "a\\"b\\\\c" }');
    expect(localServerConfig("127.0.0.1:5000", { kind: "nkey", seed: "SU…", publicKey: "UABC" })).toContain('authorization { users: [ { nkey: "UABC" } ] }');
    expect(localServerConfig("127.0.0.1:5000", { kind: "nkey", seed: "SUSECRET", publicKey: "UABC" })).not.toContain("SUSECRET");
  });
});

describe("submissions", () => {
  const fake = fakeInference();
  const submissions = new NatsSubmissions({ inference: fake, log });
  let api: LocalApi;
  const bytes = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
  const http = async (path: string, body: unknown) => {
    const res = await fetch(`${api.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return res.json() as Promise<unknown>;
  };

  beforeAll(async () => {
    api = await startLocalApi({ log, source: { status: async () => ({}), peers: async () => [], shutdown: async () => {}, events: new EventEmitter(), inference: fake } });
  });
  afterAll(() => api?.close());

  it("answer an MOE or ask body with what the HTTP route answers", async () => {
    const moe = { prompt: "What is 2+2?", experts: 2, trace_id: "t-nats" };
    expect(await submissions.answer("moe", bytes(moe))).toEqual(await http("/v1/moe", moe));
    expect(fake.state.moeCalls.at(-1)!.req).toEqual({ prompt: "What is 2+2?", experts: 2, traceId: "t-nats" });
    const ask = { model: "tiny", prompt: "hi", max_tokens: 3 };
    expect(await submissions.answer("ask", bytes(ask))).toEqual(await http("/v1/ask", ask));
  });

  it("answer a bad body with the HTTP route's error body, naming the field", async () => {
    const bodies: Array<["moe" | "ask", unknown]> = [
      ["moe", {}],
      ["moe", { prompt: "x", max_tokens: 0 }],
      ["moe", { prompt: "x", colour: "red" }],
      ["moe", []],
      ["ask", { model: "nope", prompt: "hi" }],
      ["ask", { model: "tiny" }],
    ];
    for (const [what, body] of bodies) {
      const reply = (await submissions.answer(what, bytes(body))) as ApiErrorBody;
      expect(reply, JSON.stringify(body)).toEqual(await http(`/v1/${what}`, body));
      expect(Object.keys(reply.error).sort()).toEqual(["code", "fix", "message"]);
    }
    const missing = (await submissions.answer("moe", bytes({}))) as ApiErrorBody;
    expect(missing.error).toMatchObject({ code: "bad_request", message: "invalid moe request: prompt is missing" });
    expect(((await submissions.answer("ask", bytes({ model: "nope", prompt: "hi" }))) as ApiErrorBody).error.code).toBe("model_not_found");
  });

  it("refuse a body over the size limit before parsing it, and bodies that are not JSON", async () => {
    const calls = fake.moe.mock.calls.length;
    const big = bytes({ prompt: "x".repeat(2 * 1024 * 1024) });
    expect(await submissions.answer("moe", big)).toEqual({ error: { code: "body_too_large", message: `the request body is larger than ${INFERENCE_BODY_LIMIT_BYTES} bytes (${big.byteLength} sent)`, fix: "send a smaller body" } });
    expect(((await submissions.answer("moe", bytes("{"))) as ApiErrorBody).error.code).toBe("invalid_json");
    expect(((await submissions.answer("moe", new Uint8Array([0xff, 0xfe]))) as ApiErrorBody).error.code).toBe("invalid_json");
    expect(((await submissions.answer("moe", new Uint8Array())) as ApiErrorBody).error.message).toBe("the moe request has no JSON body");
    expect(fake.moe.mock.calls.length).toBe(calls);
  });

  it("answer busy beyond the running limit, timeout after the time limit, and cancelled when the node stops", async () => {
    const limited = new NatsSubmissions({ inference: fake, log, maxInFlight: 1, inferenceTimeoutMs: 60_000 });
    fake.state.hold = true;
    try {
      const first = limited.answer("moe", bytes({ prompt: "held" }));
      await until(() => limited.inFlight === 1, "the first submission running");
      expect(((await limited.answer("moe", bytes({ prompt: "second" }))) as ApiErrorBody).error.code).toBe("busy");
      limited.abortAll();
      expect(((await first) as ApiErrorBody).error).toMatchObject({ code: "cancelled", message: "the node stopped while the job ran" });
      const quick = new NatsSubmissions({ inference: fake, log, inferenceTimeoutMs: 1000 });
      expect(((await quick.answer("ask", bytes({ model: "tiny", prompt: "held" }))) as ApiErrorBody).error).toMatchObject({ code: "timeout", message: "the ask request did not finish within 1 s" });
    } finally {
      fake.state.hold = false;
    }
  });
});
