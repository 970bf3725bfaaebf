// The inference engine on real GGUF files: the tiny random-weights model (loads in ms, outputs
// gibberish) for the mechanics, and the pinned Qwen 0.5B instruct model for a few real answers.
// Engines are few and shared (each getLlama costs ~1 s); threads are explicit (1 or 2).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { GenerateResult } from "../src/inference/inference-types.ts";
import { Writable } from "node:stream";
import { pino } from "pino";
import { complete, expectCode, qwen, resolver, silent, tinyAs, tinyBytes, tinySha } from "./support/inference-fixtures.ts";

/** Resolves once `ok()` holds (polled every 5 ms, 10 s at most). */
async function until(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error("condition not met in 10 s");
    await new Promise((r) => setTimeout(r, 5));
  }
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

describe("InferenceEngine.retire (a model unregistered or re-registered while the node runs)", () => {
  it("a busy copy finishes its request on the old file; new requests get the new registration; the old copy is freed when its request ends", async () => {
    const models = [tinyAs("tiny")];
    const lines: Array<{ msg: string; model?: string; why?: string }> = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const engine = await InferenceEngine.create({ resolveModel: resolver(models), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 2, contextSize: 2048, log });
    try {
      expect(await engine.retire("tiny")).toBe("not-loaded");
      const abort = new AbortController();
      const old = engine.generate(complete("tiny", "Once upon a time", 1900, { signal: abort.signal }));
      await until(() => engine.loaded().some((m) => m.busy));
      // Re-registered under the same name (another sha256): the busy copy is taken out of service.
      models[0] = { ...tinyAs("tiny"), sha256: "b".repeat(64) };
      expect(await engine.retire("tiny")).toBe("freed-when-idle");
      // Out of service, still in memory (and counted) until its request ends.
      expect(engine.loaded()).toEqual([expect.objectContaining({ name: "tiny", sha256: tinySha, busy: true, retired: true })]);
      const fresh = await engine.generate(complete("tiny", "again", 2));
      expect(fresh.model.sha256).toBe("b".repeat(64));
      const freedBefore = lines.filter((l) => l.msg === "inference: model unloaded").length;
      expect(freedBefore).toBe(0);
      abort.abort();
      const ended = await old;
      expect(ended.finishReason).toBe("aborted");
      expect(ended.model.sha256).toBe(tinySha);
      await until(() => lines.some((l) => l.msg === "inference: model unloaded" && l.why === "unregistered or replaced"));
      expect(engine.loaded()).toEqual([expect.objectContaining({ name: "tiny", sha256: "b".repeat(64), busy: false })]);
      // Unregistered while idle: freed at once, and the name is unknown from then on.
      models.length = 0;
      expect(await engine.retire("tiny")).toBe("freed");
      expect(engine.loaded()).toEqual([]);
      await expectCode(engine.generate(complete("tiny", "gone", 2)), "model_not_found");
      // Re-registered without a retire (a request that resolved the name just before the rescan):
      // the copy of the old file is not served under the new registration.
      models.push({ ...tinyAs("tiny"), sha256: "c".repeat(64) });
      expect((await engine.generate(complete("tiny", "again", 2))).model.sha256).toBe("c".repeat(64));
      models[0] = { ...tinyAs("tiny"), sha256: "d".repeat(64) };
      expect((await engine.generate(complete("tiny", "again", 2))).model.sha256).toBe("d".repeat(64));
      expect(engine.loaded()).toEqual([expect.objectContaining({ sha256: "d".repeat(64) })]);
    } finally {
      await engine.dispose();
    }
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
