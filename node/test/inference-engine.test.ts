// The inference engine on real GGUF files: the tiny random-weights model (loads in ms, outputs
// gibberish) for the mechanics, and the pinned Qwen 0.5B instruct model for a few real answers.
// Engines are few and shared (each getLlama costs ~1 s); threads are explicit (1 or 2).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { ConcurrencyGate } from "../src/inference/concurrency-gate.ts";
import { freeCoreThreads, InferenceEngine } from "../src/inference/inference-engine.ts";
import { InferenceError, type InferenceErrorCode } from "../src/inference/inference-errors.ts";
import type { GenerateRequest, GenerateResult, RegisteredModel } from "../src/inference/inference-types.ts";

const versions = loadVersions(versionsFile);
const tinyFile = join(modelsDir(), versions.models.tiny.file);
const tinyBytes = readFileSync(tinyFile);
const tinySha = createHash("sha256").update(tinyBytes).digest("hex");
/** The tiny model under any name: the budget tests need several "different" models. */
const tinyAs = (name: string): RegisteredModel => ({ name, file: tinyFile, sha256: tinySha, bytes: tinyBytes.length });
const qwen: RegisteredModel = {
  name: versions.models.default.name,
  file: join(modelsDir(), versions.models.default.file),
  sha256: versions.models.default.sha256,
  bytes: versions.models.default.bytes,
};
const silent = pino({ level: "silent" });

function resolver(models: RegisteredModel[]) {
  return (name: string) => {
    const m = models.find((x) => x.name === name);
    if (!m) throw new InferenceError("model_not_found", `no model named ${name}`, "register it");
    return m;
  };
}

const complete = (model: string, text: string, maxTokens: number, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model,
  prompt: { kind: "completion", text },
  maxTokens,
  sampling: { temperature: 0 },
  ...extra,
});

async function rejection(p: Promise<unknown>): Promise<InferenceError> {
  const err = await p.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InferenceError);
  return err as InferenceError;
}

async function expectCode(p: Promise<unknown>, code: InferenceErrorCode): Promise<InferenceError> {
  const err = await rejection(p);
  expect(err.code, err.message).toBe(code);
  expect(err.fix.length).toBeGreaterThan(0);
  return err;
}

/** A request that runs until aborted (the tiny model decodes ~2500 tokens/s; 1900 tokens is ~0.8 s). */
function longRequest(model: string, onToken?: (t: string) => void) {
  const abort = new AbortController();
  let settled = false;
  const result = new Promise<GenerateResult>((resolve, reject) => {
    engineOf(model)
      .generate(complete(model, "Once upon a time", 1900, { signal: abort.signal, ...(onToken && { onToken }) }))
      .then(resolve, reject)
      .finally(() => (settled = true));
  });
  return { abort, result, settled: () => settled };
}
const engines = new Map<string, InferenceEngine>();
const engineOf = (model: string) => engines.get(model)!;

describe("freeCoreThreads", () => {
  it("takes the cores the load leaves free, keeps one for the conductor, and never goes below 1", () => {
    expect(freeCoreThreads({ cores: 2, load: 0.1 })).toBe(1);
    expect(freeCoreThreads({ cores: 8, load: 0.5 })).toBe(7);
    expect(freeCoreThreads({ cores: 8, load: 3.4 })).toBe(4);
    expect(freeCoreThreads({ cores: 8, load: 30 })).toBe(1);
    expect(freeCoreThreads({ cores: 1, load: 0 })).toBe(1);
    expect(freeCoreThreads({ cores: 4, load: 0, reserve: 0 })).toBe(4);
    const here = freeCoreThreads();
    expect(here).toBeGreaterThanOrEqual(1);
    expect(here).toBeLessThanOrEqual(Math.max(1, availableParallelism() - 1));
  });
});

describe("ConcurrencyGate", () => {
  it("grants in FIFO order, refuses beyond the queue bound, and lets an aborted waiter leave at once", async () => {
    const gate = new ConcurrencyGate(1, 2);
    const first = await gate.acquire();
    const order: string[] = [];
    const abortB = new AbortController();
    const a = gate.acquire().then((r) => (order.push("a"), r));
    const b = gate.acquire(abortB.signal).then((r) => (order.push("b"), r));
    await expectCode(gate.acquire(), "busy");
    abortB.abort(new Error("gone"));
    await expect(b).rejects.toThrow("gone");
    expect(gate.queued).toBe(1);
    const c = gate.acquire().then((r) => (order.push("c"), r));
    first();
    first(); // releasing twice is harmless
    (await a)();
    (await c)();
    expect(order).toEqual(["a", "c"]);
    expect(gate.running).toBe(0);
    gate.close(new Error("closed"));
    await expect(gate.acquire()).rejects.toThrow("closed");
  });
});

describe("InferenceEngine on the tiny model (1 thread, 1 slot, queue of 2)", () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.create({ resolveModel: resolver([tinyAs("tiny")]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, maxQueued: 2, contextSize: 2048, log: silent });
    engines.set("tiny", engine);
  });
  afterAll(() => engine?.dispose());

  it("streams pieces that concatenate to the text, stops at maxTokens and reports its figures", async () => {
    const pieces: string[] = [];
    const r = await engine.generate(complete("tiny", "The quick brown fox", 24, { onToken: (t) => pieces.push(t) }));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe(r.text);
    expect(r.finishReason).toBe("length");
    // One more only when the last allowed token ends inside a UTF-8 character (see loaded-model.ts).
    expect(r.tokens - 24).toBeGreaterThanOrEqual(0);
    expect(r.tokens - 24).toBeLessThanOrEqual(1);
    expect(r.promptTokens).toBeGreaterThan(3);
    expect(r.firstTokenMs).not.toBeNull();
    expect(r.firstTokenMs!).toBeLessThanOrEqual(r.latencyMs);
    expect(r.model).toEqual({ name: "tiny", sha256: tinySha });
    const short = await engine.generate(complete("tiny", "The quick brown fox", 3));
    expect(short.finishReason).toBe("length");
    expect([3, 4]).toContain(short.tokens);
    expect(short.text.length).toBeLessThan(r.text.length);
  });

  it("renders chat messages with the model's template, few-shot turns included", async () => {
    const pieces: string[] = [];
    const messages = [
      { role: "system" as const, content: "Answer with one word." },
      { role: "user" as const, content: "Colour of the sky?" },
      { role: "assistant" as const, content: "Blue" },
      { role: "user" as const, content: "Colour of grass?" },
    ];
    const r = await engine.generate({ model: "tiny", prompt: { kind: "chat", messages }, maxTokens: 12, sampling: { temperature: 0 }, onToken: (t) => pieces.push(t) });
    expect(pieces.join("")).toBe(r.text);
    expect(r.tokens).toBeGreaterThan(0);
    const fewer = await engine.generate({ model: "tiny", prompt: { kind: "chat", messages: messages.slice(3) }, maxTokens: 1, sampling: { temperature: 0 } });
    // Every turn is in the prompt: ChatML adds the turns' text and their <|im_start|>/<|im_end|> markers.
    expect(r.promptTokens).toBeGreaterThan(fewer.promptTokens + 10);
  });

  it("ends before a stop string, which is not part of the text nor of the stream", async () => {
    const free = await engine.generate(complete("tiny", "Stop strings test", 60));
    // A two-letter stop string whose first occurrence is not at the start of the greedy text.
    const stop = free.text.match(/[A-Za-z]{2}/g)?.find((s) => free.text.indexOf(s) > 0);
    expect(stop, `no usable stop string in ${JSON.stringify(free.text)}`).toBeDefined();
    const cut = free.text.indexOf(stop!);
    const pieces: string[] = [];
    const r = await engine.generate(complete("tiny", "Stop strings test", 60, { stop: ["NEVER-IN-TEXT", stop!], onToken: (t) => pieces.push(t) }));
    expect(r.finishReason).toBe("stop");
    // Which of the request's stop strings ended the text (the Anthropic route reports it as stop_sequence).
    expect(r.stopSequence).toBe(stop);
    expect(free.stopSequence).toBeUndefined();
    expect(r.text).toBe(free.text.slice(0, cut));
    expect(pieces.join("")).toBe(r.text);
  });

  it("starts each request clean: identical greedy requests give identical text, also after a different one", async () => {
    const a1 = await engine.generate(complete("tiny", "Alpha beta gamma", 32));
    const a2 = await engine.generate(complete("tiny", "Alpha beta gamma", 32));
    const b = await engine.generate(complete("tiny", "Something else entirely, and longer", 40));
    const a3 = await engine.generate(complete("tiny", "Alpha beta gamma", 32));
    expect(a2.text).toBe(a1.text);
    expect(b.text).not.toBe(a1.text);
    expect(a3.text).toBe(a1.text);
    expect(a3.promptTokens).toBe(a1.promptTokens);
  });

  it("repeats a sampled generation with the same seed at temperature > 0, and not with another seed", async () => {
    const sampled = (seed: number) => engine.generate({ ...complete("tiny", "Random walk", 40), sampling: { temperature: 1.2, topP: 0.95, topK: 40, seed } });
    const [s1, s2, s3] = [await sampled(42), await sampled(42), await sampled(43)];
    expect(s2.text).toBe(s1.text);
    expect(s3.text).not.toBe(s1.text);
    const greedy = await engine.generate(complete("tiny", "Random walk", 40));
    expect(s1.text).not.toBe(greedy.text);
  });

  it("aborts mid-generation with the partial text and frees the slot for the next request", async () => {
    const pieces: string[] = [];
    const long = longRequest("tiny", (t) => {
      pieces.push(t);
      if (pieces.length === 3) long.abort.abort();
    });
    const r = await long.result;
    expect(r.finishReason).toBe("aborted");
    expect(r.text).toBe(pieces.join(""));
    expect(r.tokens).toBeGreaterThanOrEqual(3);
    expect(r.tokens).toBeLessThan(20);
    const next = await engine.generate(complete("tiny", "After the abort", 8));
    expect(next.finishReason).toBe("length");
    expect(engine.queueState()).toMatchObject({ running: 0, queued: 0 });
  });

  it("aborts a chat generation the same way, and answers an already aborted request without running it", async () => {
    const abort = new AbortController();
    const pieces: string[] = [];
    const chat = await engine.generate({
      model: "tiny",
      prompt: { kind: "chat", messages: [{ role: "user", content: "Tell me a very long story." }] },
      maxTokens: 1500,
      sampling: { temperature: 0 },
      signal: abort.signal,
      onToken: (t) => {
        pieces.push(t);
        if (pieces.length === 2) abort.abort();
      },
    });
    expect(chat.finishReason).toBe("aborted");
    expect(chat.text).toBe(pieces.join(""));
    expect(chat.tokens).toBeLessThan(20);
    const pre = await engine.generate(complete("tiny", "never runs", 8, { signal: AbortSignal.abort() }));
    expect(pre).toMatchObject({ finishReason: "aborted", text: "", tokens: 0, promptTokens: 0, model: { name: "tiny", sha256: tinySha } });
    expect((await engine.generate(complete("tiny", "still serving", 4))).finishReason).toBe("length");
  });

  it("queues beyond maxConcurrent in FIFO order, refuses beyond the queue bound, and drops an aborted waiter at once", async () => {
    const running = longRequest("tiny");
    const order: string[] = [];
    const q1 = engine.generate(complete("tiny", "first in line", 4)).then((r) => (order.push("q1"), r));
    const abortQ2 = new AbortController();
    const q2 = engine.generate(complete("tiny", "second in line", 4, { signal: abortQ2.signal })).then((r) => (order.push("q2"), r));
    expect(engine.queueState()).toEqual({ running: 1, queued: 2, maxConcurrent: 1, maxQueued: 2 });
    const refused = await expectCode(engine.generate(complete("tiny", "one too many", 4)), "busy");
    expect(refused.httpStatus).toBe(429);

    abortQ2.abort();
    const r2 = await q2;
    expect(r2).toMatchObject({ finishReason: "aborted", text: "", tokens: 0, firstTokenMs: null });
    expect(running.settled()).toBe(false);
    expect(engine.queueState().queued).toBe(1);

    running.abort.abort();
    expect((await running.result).finishReason).toBe("aborted");
    expect((await q1).finishReason).toBe("length");
    expect(order).toEqual(["q2", "q1"]);
  });

  it("refuses bad requests, unknown models and prompts that do not fit the context, naming the fix", async () => {
    await expectCode(engine.generate(complete("tiny", "x", 0)), "bad_request");
    await expectCode(engine.generate({ ...complete("tiny", "x", 4), sampling: { temperature: -1 } }), "bad_request");
    await expectCode(engine.generate({ ...complete("tiny", "x", 4), prompt: { kind: "chat", messages: [] } }), "bad_request");
    await expectCode(engine.generate(complete("tiny", "x", 4, { stop: [""] })), "bad_request");
    const unknown = await expectCode(engine.generate(complete("no-such-model", "x", 4)), "model_not_found");
    expect(unknown.httpStatus).toBe(404);
    await expectCode(engine.load("no-such-model"), "model_not_found");
    const tooLong = await expectCode(engine.generate(complete("tiny", "word ".repeat(1500), 1000)), "over_limit");
    expect(tooLong.message).toMatch(/2048-token context/);
    expect(engine.queueState()).toMatchObject({ running: 0, queued: 0 });
  });

  it("loads, lists, refuses to unload a busy model, and unloads an idle one", async () => {
    const info = await engine.load("tiny");
    expect(info).toMatchObject({ name: "tiny", sha256: tinySha, busy: false });
    expect(info.bytes).toBeGreaterThan(tinyBytes.length);
    const running = longRequest("tiny");
    await new Promise((r) => setTimeout(r, 20));
    expect(engine.loaded()).toEqual([expect.objectContaining({ name: "tiny", busy: true })]);
    await expectCode(engine.unload("tiny"), "busy");
    running.abort.abort();
    await running.result;
    expect(await engine.unload("tiny")).toBe(true);
    expect(engine.loaded()).toEqual([]);
    expect(await engine.unload("tiny")).toBe(false);
    // The next request loads it again.
    expect((await engine.generate(complete("tiny", "again", 2))).finishReason).toBe("length");
  });

  it("dispose ends running and queued requests (aborted); generate afterwards is a clear error", async () => {
    const running = longRequest("tiny");
    const queued = engine.generate(complete("tiny", "queued", 4));
    await new Promise((r) => setTimeout(r, 20));
    await engine.dispose();
    expect((await running.result).finishReason).toBe("aborted");
    expect(await queued).toMatchObject({ finishReason: "aborted", text: "", tokens: 0 });
    expect((await expectCode(engine.generate(complete("tiny", "late", 4)), "failed")).message).toMatch(/disposed/);
    await expectCode(engine.load("tiny"), "failed");
    expect(engine.loaded()).toEqual([]);
    await engine.dispose(); // twice is harmless
  });
});

describe("InferenceEngine memory budget (tiny model under three names, 2 slots)", () => {
  const names = ["a", "b", "c"];
  let estimate = 0;
  let engine: InferenceEngine;
  beforeAll(async () => {
    // The estimate of this engine shape, from an engine whose budget fits nothing.
    const small = await InferenceEngine.create({ resolveModel: resolver(names.map(tinyAs)), threads: 1, memoryBudgetBytes: 1000, maxConcurrent: 2, contextSize: 2048, log: silent });
    try {
      estimate = await small.estimateBytes("a");
      const err = await expectCode(small.generate(complete("a", "x", 2)), "over_limit");
      expect(err.httpStatus).toBe(422);
      expect(err.message).toMatch(/MiB/);
      expect(err.fix).toMatch(/budget/);
      expect(small.loaded()).toEqual([]);
    } finally {
      await small.dispose();
    }
    engine = await InferenceEngine.create({ resolveModel: resolver(names.map(tinyAs)), threads: 1, memoryBudgetBytes: Math.floor(estimate * 2.5), maxConcurrent: 2, contextSize: 2048, log: silent });
    engines.set("a", engine).set("b", engine).set("c", engine);
  });
  afterAll(() => engine?.dispose());

  it("estimates file + context, and refuses a model that alone exceeds the budget (over_limit)", () => {
    expect(estimate).toBeGreaterThan(tinyBytes.length);
  });

  it("runs maxConcurrent requests on one model at once, each on a clean sequence of its own context", async () => {
    const counts = [0, 0];
    const [r1, r2] = [longRequest("a", () => counts[0]!++), longRequest("a", () => counts[1]!++)];
    const deadline = Date.now() + 10_000;
    while ((counts[0] === 0 || counts[1] === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // Both stream before either ends: they run side by side, not one after the other.
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(r1.settled() || r2.settled()).toBe(false);
    expect(engine.queueState()).toMatchObject({ running: 2, queued: 0 });
    r1.abort.abort();
    r2.abort.abort();
    expect((await r1.result).finishReason).toBe("aborted");
    expect((await r2.result).finishReason).toBe("aborted");
    // The second context stays and gives the same greedy text as the first.
    const [x, y] = await Promise.all([engine.generate(complete("a", "Same prompt", 16)), engine.generate(complete("a", "Same prompt", 16))]);
    expect(y.text).toBe(x.text);
    await engine.unload("a");
  });

  it("evicts the least recently used idle model to make room", async () => {
    await engine.load("a");
    await engine.load("b");
    await engine.generate(complete("a", "touch a", 2)); // a is now more recent than b
    await engine.generate(complete("c", "needs room", 2));
    expect(engine.loaded().map((m) => m.name).sort()).toEqual(["a", "c"]);
  });

  it("never evicts a busy model: a load that only fits once they finish is refused as busy", async () => {
    const ra = longRequest("a");
    const rc = longRequest("c");
    await new Promise((r) => setTimeout(r, 20));
    // load() takes no request slot, so only the memory budget stands in its way.
    const err = await expectCode(engine.load("b"), "busy");
    expect(err.message).toMatch(/busy models hold/);
    expect(engine.loaded().map((m) => m.name).sort()).toEqual(["a", "c"]);
    ra.abort.abort();
    rc.abort.abort();
    await Promise.all([ra.result, rc.result]);
    expect((await engine.generate(complete("b", "room now", 2))).finishReason).toBe("length");
    expect(engine.loaded().map((m) => m.name)).toContain("b");
  });
});

describe("InferenceEngine on Qwen2.5-Coder 0.5B instruct (1 thread, as freeCoreThreads picks on 2 cores)", () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.create({ resolveModel: resolver([qwen]), threads: 1, memoryBudgetBytes: 4 * 2 ** 30, maxConcurrent: 1, contextSize: 512, log: silent });
  });
  afterAll(() => engine?.dispose());

  it("answers a greedy chat question through its ChatML template", async () => {
    const pieces: string[] = [];
    const r = await engine.generate({
      model: qwen.name,
      prompt: { kind: "chat", messages: [{ role: "user", content: "What is the capital of France?" }] },
      maxTokens: 24,
      sampling: { temperature: 0 },
      onToken: (t) => pieces.push(t),
    });
    expect(r.text).toContain("Paris");
    expect(r.text).not.toContain("<|im_end|>");
    expect(pieces.join("")).toBe(r.text);
    expect(r.finishReason).toBe("stop");
    expect(r.model).toEqual({ name: qwen.name, sha256: qwen.sha256 });
  });

  it("completes raw text and stops before a stop string", async () => {
    const r = await engine.generate({ ...complete(qwen.name, "1, 2, 3, 4, 5,", 16), stop: [" 8"] });
    expect(r.stopSequence).toBe(" 8");
    expect(r.text.replace(/\s+/g, "")).toBe("6,7,");
    expect(r.finishReason).toBe("stop");
    expect(r.promptTokens).toBeGreaterThan(5);
  });
});

describe("InferenceEngine idle unload (tiny model, idleUnloadMs 300)", () => {
  const idleMs = 300;
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.create({ resolveModel: resolver([tinyAs("idle")]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, contextSize: 4096, idleUnloadMs: idleMs, log: silent });
  });
  afterAll(() => engine?.dispose());
  const isLoaded = () => engine.loaded().some((m) => m.name === "idle");
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function unloadedWithin(ms: number): Promise<number> {
    const start = Date.now();
    while (isLoaded()) {
      if (Date.now() - start > ms) throw new Error(`model still loaded ${ms} ms after its last request`);
      await sleep(20);
    }
    return Date.now() - start;
  }

  it("unloads a model once it has served nothing for the idle time, and loads it again on the next request", async () => {
    await engine.generate(complete("idle", "Once upon a time", 8));
    const endedAt = Date.now();
    expect(isLoaded()).toBe(true);
    await sleep(idleMs / 3);
    expect(isLoaded(), "unloaded before the idle time").toBe(true);
    await unloadedWithin(idleMs * 10);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(idleMs - 5);
    // The next request loads it again; then the idle clock starts afresh.
    const again = await engine.generate(complete("idle", "Once upon a time", 8));
    expect(again.finishReason).toBe("length");
    expect(isLoaded()).toBe(true);
    await unloadedWithin(idleMs * 10);
  });

  it("never unloads a model while it serves a request, and starts the idle clock when the request ends", async () => {
    const abort = new AbortController();
    let settled = false;
    const running = engine.generate(complete("idle", "Once upon a time", 4000, { signal: abort.signal })).finally(() => (settled = true));
    await sleep(idleMs * 3);
    expect(settled, "the request finished too early to show anything; make it longer").toBe(false);
    expect(isLoaded(), "unloaded while serving").toBe(true);
    abort.abort();
    expect((await running).finishReason).toBe("aborted");
    const endedAt = Date.now();
    expect(isLoaded(), "unloaded at once when its request ended").toBe(true);
    await unloadedWithin(idleMs * 10);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(idleMs - 5);
  });

  it("refuses a negative idle time", async () => {
    await expect(InferenceEngine.create({ resolveModel: resolver([]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, idleUnloadMs: -1, log: silent })).rejects.toThrow(/idleUnloadMs/);
  });
});
