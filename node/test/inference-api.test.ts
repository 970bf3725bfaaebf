// The local API's inference routes (/v1/moe, /v1/ask, /v1/models/…) over real sockets against a fake
// InferenceSource: body validation, SSE framing, abort propagation, error mapping, guards.
import { EventEmitter } from "node:events";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { LocalApiClient, LocalApiRequestError } from "../src/api/api-client.ts";
import { startLocalApi, type ApiSource, type LocalApi, type LocalApiOptions } from "../src/api/local-api.ts";
import { readSse, SseMessageTooLargeError } from "../src/api/sse.ts";
import { InferenceError } from "../src/inference/inference-errors.ts";
import { createLogger } from "../src/log.ts";
import { fakeInference, until, type FakeInference, type FakeInferenceOptions } from "./support/fake-inference.ts";

const log = createLogger("test", "silent");
const TOKEN = "0123456789abcdef0123456789abcdef";

const started: LocalApi[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.close()));
});

async function start(opts: Partial<LocalApiOptions> & { withInference?: boolean; fake?: FakeInferenceOptions } = {}): Promise<{ api: LocalApi; fake: FakeInference; client: LocalApiClient }> {
  const fake = fakeInference(opts.fake);
  const source: ApiSource = {
    status: async () => ({}),
    peers: async () => [],
    shutdown: async () => {},
    events: new EventEmitter(),
    ...(opts.withInference === false ? {} : { inference: fake }),
  };
  const api = await startLocalApi({ log, source, ...opts });
  started.push(api);
  return { api, fake, client: new LocalApiClient({ url: api.url, ...(opts.token ? { token: opts.token } : {}) }) };
}

interface Raw {
  status: number;
  headers: Record<string, unknown>;
  text: string;
  json: any;
}

function http(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method, path, timeout: 5000, headers: { ...(payload !== undefined ? { "content-type": "application/json" } : {}), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(payload);
  });
}

async function sseMessages(text: string) {
  const out: Array<{ event: string | undefined; data: any }> = [];
  for await (const m of readSse([new TextEncoder().encode(text)])) out.push({ event: m.event, data: JSON.parse(m.data) });
  return out;
}

describe("POST /v1/moe", () => {
  it("runs the MOE with the body's options and answers with the MoeResult", async () => {
    const { client, fake } = await start();
    const r = await client.moe({ prompt: "What is 2+2?", task_type: "math", experts: 4, max_tokens: 16, require_consensus: false, trace_id: "t-1" });
    expect(fake.state.moeCalls[0]!.req).toEqual({ prompt: "What is 2+2?", taskType: "math", experts: 4, maxTokens: 16, requireConsensus: false, traceId: "t-1" });
    expect(r.response).toBe("answer to: What is 2+2?");
    expect(r.model_votes).toHaveLength(4);
    expect(r.consensus_score).toBeCloseTo(0.75);
    expect(r.trace_id).toBe("t-1");
  });

  it("streams progress events then the result, with ?stream=1 or Accept: text/event-stream", async () => {
    const { api, client } = await start();
    for (const [path, headers] of [
      ["/v1/moe?stream=1", {}],
      ["/v1/moe", { accept: "text/event-stream" }],
    ] as const) {
      const res = await http(api.port, "POST", path, { prompt: "q", experts: 2 }, headers);
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
      expect(res.text).toMatch(/^event: moe:assigned\ndata: \{/);
      const messages = await sseMessages(res.text);
      expect(messages.map((m) => m.event)).toEqual(["moe:assigned", "moe:assigned", "moe:answer", "moe:answer", "result"]);
      expect(messages[0]!.data).toEqual({ type: "moe:assigned", slot: 0, expert: "expert-0", model: "tiny", peer: "node-0", epoch: 0 });
      expect(messages.at(-1)!.data.response).toBe("answer to: q");
    }
    // ?stream=0 wins over the header.
    const plain = await http(api.port, "POST", "/v1/moe?stream=0", { prompt: "q" }, { accept: "text/event-stream" });
    expect(plain.headers["content-type"]).toMatch(/^application\/json/);

    const seen: string[] = [];
    const r = await client.moe({ prompt: "streamed", experts: 3 }, { onEvent: (e) => seen.push(`${e.type}:${e.slot}`) });
    expect(seen).toEqual(["moe:assigned:0", "moe:assigned:1", "moe:assigned:2", "moe:answer:0", "moe:answer:1", "moe:answer:2"]);
    expect(r.response).toBe("answer to: streamed");
  });

  it("refuses bad bodies with 400 naming the field and the fix, without calling the source", async () => {
    const { api, fake } = await start();
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, "prompt", /prompt is missing/],
      [{ prompt: "" }, "prompt", /prompt must not be empty/],
      [{ prompt: "x".repeat(32 * 1024 + 1) }, "prompt", /larger than 32768 bytes/],
      [{ prompt: "é".repeat(16 * 1024 + 1) }, "prompt", /larger than 32768 bytes/], // 2 bytes each in UTF-8
      [{ prompt: "q", max_tokens: 0 }, "max_tokens", /max_tokens must be a whole number from 1 to 2048/],
      [{ prompt: "q", max_tokens: 2049 }, "max_tokens", /from 1 to 2048/],
      [{ prompt: "q", max_tokens: 1.5 }, "max_tokens", /whole number/],
      [{ prompt: "q", experts: "3" }, "experts", /experts must be a whole number/],
      [{ prompt: "q", require_consensus: "yes" }, "require_consensus", /true or false/],
      [{ prompt: "q", task_type: "no spaces" }, "task_type", /task_type must be a task type/],
      // resource_mesh keeps at most 64 bytes of a job's trace id: refused here, not by the zome.
      [{ prompt: "q", trace_id: "t".repeat(65) }, "trace_id", /trace_id must be at most 64 characters/],
      [{ prompt: "q", temperature: 1 }, "temperature", /unknown field "temperature"/],
      [["q"], "", /invalid moe request/],
    ];
    for (const [body, field, message] of cases) {
      const res = await http(api.port, "POST", "/v1/moe", body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(res.json.error.code).toBe("bad_request");
      expect(res.json.error.message).toMatch(message);
      expect(res.json.error.fix.length).toBeGreaterThan(10);
      if (field) expect(res.json.error.fix).toContain(field);
    }
    const none = await http(api.port, "POST", "/v1/moe");
    expect(none.status).toBe(400);
    expect(none.json.error.message).toContain("no JSON body");
    const badJson = await http(api.port, "POST", "/v1/moe", "{nope");
    expect(badJson.json.error.code).toBe("invalid_json");
    // A 32 KiB prompt is fine although it is beyond the API's default 64 KiB body limit once escaped.
    expect((await http(api.port, "POST", "/v1/moe", { prompt: '"'.repeat(32 * 1024) })).status).toBe(200);
    expect(fake.moe).toHaveBeenCalledTimes(1);
  });

  it("aborts the source's signal when the client disconnects (plain and streamed)", async () => {
    const { client, fake } = await start();
    fake.state.hold = true;
    const ac = new AbortController();
    const plain = client.moe({ prompt: "q" }, { signal: ac.signal });
    await until(() => fake.state.moeCalls.length === 1, "the MOE job to start");
    ac.abort(new Error("user gave up"));
    await expect(plain).rejects.toThrow("user gave up");
    await until(() => fake.state.moeCalls[0]!.signal.aborted, "the source's signal to abort");
    expect(fake.state.moeCalls[0]!.signal.reason).toMatchObject({ code: "cancelled" });

    const ac2 = new AbortController();
    const events: unknown[] = [];
    const streamed = client.moe({ prompt: "q" }, { signal: ac2.signal, onEvent: (e) => events.push(e) });
    await until(() => events.length === 1, "the first progress event");
    expect(fake.state.moeCalls[1]!.signal.aborted).toBe(false);
    ac2.abort(new Error("stop"));
    await expect(streamed).rejects.toThrow("stop");
    await until(() => fake.state.moeCalls[1]!.signal.aborted, "the streamed job's signal to abort");
  });

  it("gives up after inferenceTimeoutMs with 504 and aborts the source", async () => {
    const { client, fake } = await start({ inferenceTimeoutMs: 150 });
    fake.state.hold = true;
    const err = await client.moe({ prompt: "q" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalApiRequestError);
    expect(err).toMatchObject({ status: 504, code: "timeout" });
    expect((err as Error).message).toContain("did not finish within");
    expect(fake.state.moeCalls[0]!.signal.aborted).toBe(true);
  });

  it("maps InferenceErrors to their status, before the stream opens (HTTP) and after (event: error)", async () => {
    const { api, client, fake } = await start();
    fake.state.failWith = new InferenceError("no_peer", "no node serves the experts' models", "start a node that serves them");
    const plain = await http(api.port, "POST", "/v1/moe", { prompt: "q" });
    expect(plain.status).toBe(503);
    expect(plain.json.error).toEqual({ code: "no_peer", message: "no node serves the experts' models", fix: "start a node that serves them" });

    fake.state.failWith = new InferenceError("busy", "every expert is busy", "retry in a minute");
    const early = await http(api.port, "POST", "/v1/moe?stream=1", { prompt: "q" });
    expect(early.status).toBe(429);
    expect(early.json.error.code).toBe("busy");

    fake.state.failWith = new InferenceError("policy_refused", "the policy forbids this task", "use another task type");
    fake.state.failAfterTokens = 2;
    const late = await http(api.port, "POST", "/v1/moe?stream=1", { prompt: "q" });
    expect(late.status).toBe(200);
    const messages = await sseMessages(late.text);
    expect(messages.map((m) => m.event)).toEqual(["moe:assigned", "moe:assigned", "error"]);
    expect(messages.at(-1)!.data.error).toEqual({ code: "policy_refused", message: "the policy forbids this task", fix: "use another task type" });

    fake.state.failWith = new InferenceError("failed", "every expert failed", "see the logs");
    fake.state.failAfterTokens = 1;
    const viaClient = await client.moe({ prompt: "q" }, { onEvent: () => {} }).catch((e: unknown) => e);
    expect(viaClient).toMatchObject({ status: 502, code: "failed", fix: "see the logs" });

    fake.state.failWith = new TypeError("boom");
    fake.state.failAfterTokens = 0;
    const internal = await http(api.port, "POST", "/v1/moe", { prompt: "q" });
    expect(internal.status).toBe(500);
    expect(internal.json.error.code).toBe("internal");
  });
});

describe("POST /v1/ask", () => {
  it("asks the model (prompt or messages) and streams tokens as they come", async () => {
    const { client, fake } = await start();
    const r = await client.ask({ model: "tiny", prompt: "hi", max_tokens: 3, temperature: 0.5, seed: 7, peer: "bob" });
    expect(fake.state.askCalls[0]!.req).toEqual({ model: "tiny", messages: [{ role: "user", content: "hi" }], maxTokens: 3, temperature: 0.5, seed: 7, peer: "bob" });
    expect(r).toMatchObject({ text: "Hello, ", tokens: 3, finishReason: "length", model: "tiny" });

    const pieces: string[] = [];
    const streamed = await client.ask({ model: "qwen", messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }] }, { onToken: (t) => pieces.push(t) });
    expect(pieces).toEqual(["Hel", "lo", ", ", "mesh", "!"]);
    expect(streamed.text).toBe(pieces.join(""));
    expect(fake.state.askCalls[1]!.req.messages).toHaveLength(2);
  });

  it("frames tokens as `event: token` and ends with `event: result`", async () => {
    const { api } = await start();
    const res = await http(api.port, "POST", "/v1/ask?stream=1", { model: "tiny", prompt: "hi" });
    const messages = await sseMessages(res.text);
    expect(messages.slice(0, -1).every((m) => m.event === "token")).toBe(true);
    expect(messages.slice(0, -1).map((m) => m.data.text).join("")).toBe("Hello, mesh!");
    expect(messages.at(-1)).toMatchObject({ event: "result", data: { text: "Hello, mesh!", finishReason: "stop" } });
  });

  it("refuses an unknown model with 404 naming the served ones, and bad bodies with 400", async () => {
    const { api, client, fake } = await start();
    const err = await client.ask({ model: "nope", prompt: "hi" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: "model_not_found" });
    expect((err as LocalApiRequestError).fix).toContain("tiny, qwen");
    const both = await http(api.port, "POST", "/v1/ask", { model: "tiny", prompt: "a", messages: [{ role: "user", content: "b" }] });
    expect(both.status).toBe(400);
    expect(both.json.error.message).toContain("prompt and messages were both sent");
    const neither = await http(api.port, "POST", "/v1/ask", { model: "tiny" });
    expect(neither.json.error.message).toContain("prompt is missing (send prompt or messages)");
    const many = await http(api.port, "POST", "/v1/ask", { model: "tiny", messages: Array.from({ length: 65 }, () => ({ role: "user", content: "x" })) });
    expect(many.json.error.message).toContain("messages must hold at most 64 messages");
    const role = await http(api.port, "POST", "/v1/ask", { model: "tiny", messages: [{ role: "tool", content: "x" }] });
    expect(role.json.error.message).toContain("messages[0].role");
    const big = await http(api.port, "POST", "/v1/ask", { model: "tiny", messages: [{ role: "user", content: "x".repeat(20_000) }, { role: "user", content: "y".repeat(20_000) }] });
    expect(big.json.error.message).toMatch(/messages hold 40000 bytes of text, more than 32768/);
    const temp = await http(api.port, "POST", "/v1/ask", { model: "tiny", prompt: "a", temperature: 2.5 });
    expect(temp.json.error).toMatchObject({ code: "bad_request", message: expect.stringContaining("temperature must be a number from 0 to 2") });
    const peer = await http(api.port, "POST", "/v1/ask", { model: "tiny", prompt: "a", peer: "" });
    expect(peer.json.error).toMatchObject({ code: "bad_request", message: expect.stringContaining("peer must not be empty"), fix: expect.stringContaining("GET /v1/peers") });
    expect(fake.ask).not.toHaveBeenCalled();
  });

  it("aborts generation when a streaming client goes away", async () => {
    const { client, fake } = await start();
    fake.state.hold = true;
    const ac = new AbortController();
    const pieces: string[] = [];
    const p = client.ask({ model: "tiny", prompt: "hi" }, { signal: ac.signal, onToken: (t) => pieces.push(t) });
    await until(() => pieces.length === 1, "the first token");
    ac.abort(new Error("ctrl-c"));
    await expect(p).rejects.toThrow("ctrl-c");
    await until(() => fake.state.askCalls[0]!.signal.aborted, "the source's signal to abort");
  });
});

describe("a streaming client that stops reading", () => {
  it("is cut off once too much is queued for it, and its generation is aborted", { timeout: 20_000 }, async () => {
    const big = "x".repeat(64 * 1024);
    const { api, fake } = await start({ wsMaxBufferedBytes: 256 * 1024, fake: { tokens: Array.from({ length: 400 }, () => big), tokenDelayMs: 1 } });
    const req = request({ host: "127.0.0.1", port: api.port, method: "POST", path: "/v1/ask?stream=1", headers: { "content-type": "application/json" } }, (res) => {
      res.pause(); // never reads: the kernel's buffers fill up, then the server's
    });
    req.on("error", () => {});
    req.end(JSON.stringify({ model: "tiny", prompt: "hi" }));
    await until(() => fake.state.askCalls[0]?.signal.aborted === true, "the generation to be aborted", 15_000);
    expect(fake.state.askCalls[0]!.signal.reason).toMatchObject({ code: "cancelled" });
    // Cut off well before all 400 tokens (25 MiB) were produced.
    expect(fake.ask.mock.results).toHaveLength(1);
    await expect(fake.ask.mock.results[0]!.value).rejects.toMatchObject({ code: "cancelled" });
    req.destroy();
  });
});

describe("/v1/models/local, load, unload", () => {
  it("lists local models and loads/unloads by name; an unknown name is 404", async () => {
    const { client, fake } = await start();
    const before = await client.localModels();
    expect(before.map((m) => [m.name, m.loaded])).toEqual([
      ["tiny", false],
      ["qwen", true],
    ]);
    expect(await client.loadModel("tiny")).toMatchObject({ name: "tiny", loaded: true });
    expect(fake.loadModel).toHaveBeenCalledWith("tiny");
    expect((await client.localModels()).find((m) => m.name === "tiny")!.loaded).toBe(true);
    expect(await client.unloadModel("tiny")).toMatchObject({ name: "tiny", loaded: false });
    await expect(client.loadModel("ghost")).rejects.toMatchObject({ status: 404, code: "model_not_found" });
  });
});

describe("inference routes and the API's guards", () => {
  it("require the token and refuse cross-origin requests before the source is called", async () => {
    const { api, fake } = await start({ token: TOKEN });
    const body = { prompt: "q" };
    expect((await http(api.port, "POST", "/v1/moe", body)).status).toBe(401);
    expect((await http(api.port, "POST", "/v1/ask", { model: "tiny", prompt: "q" })).status).toBe(401);
    expect((await http(api.port, "POST", "/v1/chat/completions", { model: "tiny", messages: [] })).status).toBe(401);
    expect((await http(api.port, "GET", "/v1/models")).status).toBe(401);
    expect((await http(api.port, "POST", "/v1/models/tiny/load")).status).toBe(401);
    const evil = await http(api.port, "POST", "/v1/moe", body, { authorization: `Bearer ${TOKEN}`, origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    const rebinding = await http(api.port, "POST", "/v1/chat/completions", body, { authorization: `Bearer ${TOKEN}`, host: "evil.example" });
    expect(rebinding.status).toBe(403);
    expect(fake.moe).not.toHaveBeenCalled();
    expect(fake.loadModel).not.toHaveBeenCalled();
    const ok = await http(api.port, "POST", "/v1/moe", body, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
  });

  it("are 404 (and not listed) when the source has no inference", async () => {
    const { api } = await start({ withInference: false });
    const res = await http(api.port, "POST", "/v1/moe", { prompt: "q" });
    expect(res.status).toBe(404);
    expect(res.json.error.fix).not.toContain("/v1/moe");
    const listed = await start();
    expect((await http(listed.api.port, "GET", "/v1/nothing")).json.error.fix).toContain("POST /v1/moe");
    expect(api.url).toMatch(/^http:/);
  });
});

describe("readSse (the CLI's event-stream parser)", () => {
  async function parse(chunks: string[], max?: number) {
    const out: Array<{ event: string | undefined; data: string }> = [];
    for await (const m of readSse(chunks.map((c) => new TextEncoder().encode(c)), max)) out.push(m);
    return out;
  }

  it("joins data lines, skips comments, accepts CRLF and CR, and handles lines split across chunks", async () => {
    expect(await parse([": keep-alive\n\nevent: a\ndata: 1\ndata: 2\n\n", "data:x\r\n\r", "\ndata: é", "\r\revent: b\ndata: {}\n"])).toEqual([
      { event: "a", data: "1\n2" },
      { event: undefined, data: "x" },
      { event: undefined, data: "é" },
      // the last message has no closing blank line: incomplete, not dispatched
    ]);
  });

  it("refuses a message beyond its size limit", async () => {
    await expect(parse([`data: ${"x".repeat(100)}\n\n`], 50)).rejects.toBeInstanceOf(SseMessageTooLargeError);
    await expect(parse(["data: " + "x".repeat(100)], 50)).rejects.toBeInstanceOf(SseMessageTooLargeError);
  });
});
