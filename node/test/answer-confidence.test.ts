// The engine's answer confidence (inference/answer-confidence.ts) against node-llama-cpp's own
// generation loop: greedy decoding with evaluateWithMetadata({ confidence: true }) reports, token by
// token, the probability of each token it picked; the engine's rescoring pass must give the same
// geometric mean. On the tiny random-weights model (loads in ms).
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { getLlama, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { MAX_SCORED_TOKENS } from "../src/inference/answer-confidence.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { RegisteredModel } from "../src/inference/inference-types.ts";

const versions = loadVersions(versionsFile);
const silent = pino({ level: "silent" });
const registered = (name: string, file: string): RegisteredModel => {
  const bytes = readFileSync(file);
  return { name, file, sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
};
const tiny = registered("tiny", join(modelsDir(), versions.models.tiny.file));

let llama: Llama;
let engine: InferenceEngine;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, logLevel: "error" as never });
  engine = await InferenceEngine.create({ resolveModel: () => tiny, threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, contextSize: 1024, log: silent });
});
afterAll(async () => {
  await engine?.dispose();
});

/** Greedy generation by node-llama-cpp's own loop: the tokens and the probability of each. */
async function greedyReference(model: LlamaModel, prompt: Token[], maxTokens: number): Promise<{ tokens: Token[]; confidences: number[] }> {
  const context = await model.createContext({ contextSize: 1024, threads: 1 });
  try {
    const sequence = context.getSequence();
    const tokens: Token[] = [];
    const confidences: number[] = [];
    for await (const out of sequence.evaluateWithMetadata(prompt, { confidence: true }, { temperature: 0 })) {
      if (model.isEogToken(out.token) || tokens.length === maxTokens) break;
      tokens.push(out.token);
      confidences.push(out.confidence);
    }
    return { tokens, confidences };
  } finally {
    await context.dispose();
  }
}

const geometricMean = (xs: number[]) => Math.exp(xs.reduce((t, x) => t + Math.log(x), 0) / xs.length);

describe("answer confidence", () => {
  it("equals the geometric mean of the probabilities node-llama-cpp's greedy loop gave the same tokens", async () => {
    const model = await llama.loadModel({ modelPath: tiny.file });
    try {
      for (const [prompt, maxTokens] of [["The quick brown fox", 12], ["Once upon a time", 40]] as const) {
        const r = await engine.generate({ model: "tiny", prompt: { kind: "completion", text: prompt }, maxTokens, sampling: { temperature: 0 }, confidence: true });
        const bos = model.tokens.bos != null && model.tokens.shouldPrependBosToken ? [model.tokens.bos] : [];
        const ref = await greedyReference(model, [...bos, ...model.tokenize(prompt, false, bos.length ? "trimLeadingSpace" : undefined)], maxTokens);
        // The same generation (the engine may add a token to complete a UTF-8 character at the end).
        expect(r.text.startsWith(model.detokenize(ref.tokens.slice(0, 8)))).toBe(true);
        // Only the first MAX_SCORED_TOKENS are scored (the 40-token answer checks the cut).
        const expected = geometricMean(ref.confidences.slice(0, MAX_SCORED_TOKENS));
        expect(r.confidence).toBeGreaterThan(0);
        expect(r.confidence).toBeLessThanOrEqual(1);
        // One batch vs one token at a time: float noise of ~0.1 %; an off-by-one position would be far off.
        expect(Math.abs(r.confidence! - expected)).toBeLessThan(1e-2 * expected);
        if (maxTokens > MAX_SCORED_TOKENS) expect(Math.abs(r.confidence! - geometricMean(ref.confidences))).toBeGreaterThan(1e-6);
      }
    } finally {
      await model.dispose();
    }
  });

  it("is absent unless asked for, and the answer is the same either way", async () => {
    const req = { model: "tiny", prompt: { kind: "completion" as const, text: "The quick brown fox" }, maxTokens: 8, sampling: { temperature: 0 } };
    const plain = await engine.generate(req);
    const scored = await engine.generate({ ...req, confidence: true });
    expect(plain.confidence).toBeUndefined();
    expect(scored.text).toBe(plain.text);
    expect(scored.tokens).toBe(plain.tokens);
  });

  it("scores a sampled answer below 1 and a chat answer through its template", async () => {
    const sampled = await engine.generate({ model: "tiny", prompt: { kind: "completion", text: "Hello" }, maxTokens: 16, sampling: { temperature: 1.5, seed: 7 }, confidence: true });
    expect(sampled.confidence).toBeGreaterThan(0);
    expect(sampled.confidence).toBeLessThan(1);
    const chat = await engine.generate({ model: "tiny", prompt: { kind: "chat", messages: [{ role: "user", content: "Hi" }] }, maxTokens: 8, sampling: { temperature: 0 }, confidence: true });
    expect(chat.tokens).toBeGreaterThan(0);
    expect(chat.confidence).toBeGreaterThan(0);
    expect(chat.confidence).toBeLessThanOrEqual(1);
  });

  it("is what a requester gets by scoring the answer's text itself (how a peer's claimed figure is checked), on Qwen", async () => {
    // A real model: its answers' text tokenizes back to the tokens it generated (the tiny model's
    // random bytes do not), and that is what a requester has of a remote answer.
    const qwen = registered("qwen", join(modelsDir(), versions.models.default.file));
    const q = await InferenceEngine.create({ resolveModel: () => qwen, threads: 2, memoryBudgetBytes: 2 ** 31, maxConcurrent: 1, contextSize: 1024, log: silent });
    try {
      for (const [content, maxTokens] of [["What is 2+2? Answer with a number.", 8], ["Name a colour.", 3]] as const) {
        const prompt = { kind: "chat" as const, messages: [{ role: "user" as const, content }] };
        const r = await q.generate({ model: "qwen", prompt, maxTokens, sampling: { temperature: 0 }, confidence: true });
        const rescored = await q.scoreAnswer("qwen", prompt, r.text, { endedByLength: r.finishReason === "length" });
        // Not to the last digit: the worker's prompt went through the model in other batches than the
        // requester's (llama.cpp's sums differ in their last bits by batch shape); 0.004 apart here.
        expect(Math.abs(rescored! - r.confidence!), `${JSON.stringify(r.text)} (${r.finishReason}): ${rescored} vs ${r.confidence}`).toBeLessThan(0.01);
      }
      // A claimed answer the model would not give scores far lower than its own.
      const prompt = { kind: "chat" as const, messages: [{ role: "user" as const, content: "What is 2+2? Answer with a number." }] };
      const wrong = await q.scoreAnswer("qwen", prompt, "17", { endedByLength: false });
      expect(wrong).toBeLessThan(0.05);
      expect(await q.scoreAnswer("qwen", prompt, "", { endedByLength: false })).toBeUndefined();
    } finally {
      await q.dispose();
    }
  });

  it("rescoring keeps the prompt it scored: the next answer to a prompt that opens the same way evaluates only the rest, with the same figure", async () => {
    const qwen = registered("qwen", join(modelsDir(), versions.models.default.file));
    const q = await InferenceEngine.create({ resolveModel: () => qwen, threads: 2, memoryBudgetBytes: 2 ** 31, maxConcurrent: 1, contextSize: 1024, log: silent });
    const counts = () => q.loaded()[0]!.rescoredPromptTokens;
    const chat = (content: string) => ({ kind: "chat" as const, messages: [{ role: "system" as const, content: "You are a terse assistant. Answer with one word." }, { role: "user" as const, content }] });
    try {
      const paris = chat("What is the capital of France?");
      const first = await q.generate({ model: "qwen", prompt: paris, maxTokens: 4, sampling: { temperature: 0 }, confidence: true });
      const score = (prompt: ReturnType<typeof chat>, answer: string) => q.scoreAnswer("qwen", prompt, answer, { endedByLength: false });
      const fresh = await score(paris, "Paris");
      const promptTokens = counts().evaluated;
      expect(counts().reused).toBe(0);
      // Two more peers' answers to the same prompt: only the prompt's last token is evaluated again.
      expect(await score(paris, "Paris")).toBeCloseTo(fresh!, 6);
      const lyon = await score(paris, "Lyon");
      expect(lyon).toBeLessThan(fresh!);
      expect(counts()).toEqual({ reused: 2 * (promptTokens - 1), evaluated: promptTokens + 2 });
      // Another question in the same template: the system text and the turn markers are not evaluated again.
      const berlin = chat("What is the capital of Germany?");
      await score(berlin, "Berlin");
      expect(counts().reused).toBeGreaterThan(2 * (promptTokens - 1) + 10);
      // A generation after rescoring starts from nothing: the same answer and figure as before it.
      const again = await q.generate({ model: "qwen", prompt: paris, maxTokens: 4, sampling: { temperature: 0 }, confidence: true });
      expect([again.text, again.confidence]).toEqual([first.text, first.confidence]);
      // Rescoring has contexts of its own: the generation did not clear what it kept (the template's
      // opening, up to where Germany and France differ), and the figure is the same.
      let before = counts();
      expect(await score(paris, "Lyon")).toBeCloseTo(lyon!, 6);
      expect(counts().reused - before.reused).toBeGreaterThan(10);
      // Other templates (another system text) take other sequences instead of overwriting this one:
      // after three of them, this template's prompt is still there in full.
      for (const system of ["You are a careful mathematician.", "Reply in French, in one word.", "Think step by step, then answer."]) {
        await score({ kind: "chat", messages: [{ role: "system", content: system }, { role: "user", content: "What is 2 + 2?" }] }, "4");
      }
      before = counts();
      expect(await score(paris, "Paris")).toBeCloseTo(fresh!, 6);
      expect(counts()).toEqual({ reused: before.reused + promptTokens - 1, evaluated: before.evaluated + 1 });
      // The figures equal a fresh engine's, which never kept anything.
      const other = await InferenceEngine.create({ resolveModel: () => qwen, threads: 2, memoryBudgetBytes: 2 ** 31, maxConcurrent: 1, contextSize: 1024, log: silent });
      try {
        expect(await other.scoreAnswer("qwen", paris, "Lyon", { endedByLength: false })).toBeCloseTo(lyon!, 6);
        expect(await other.scoreAnswer("qwen", berlin, "Berlin", { endedByLength: false })).toBeCloseTo((await score(berlin, "Berlin"))!, 6);
      } finally {
        await other.dispose();
      }
    } finally {
      await q.dispose();
    }
  });

  it("checks an answer beside a running generation, not behind it; a prompt too long for the rescoring context waits its turn", async () => {
    const qwen = registered("qwen", join(modelsDir(), versions.models.default.file));
    const q = await InferenceEngine.create({ resolveModel: () => qwen, threads: 1, memoryBudgetBytes: 2 ** 31, maxConcurrent: 1, contextSize: 1024, log: silent });
    const order: string[] = [];
    try {
      await q.load("qwen");
      const question = { kind: "chat" as const, messages: [{ role: "user" as const, content: "What is the capital of France?" }] };
      const long = { kind: "chat" as const, messages: [{ role: "system" as const, content: "Answer briefly. ".repeat(110) }, { role: "user" as const, content: "What is the capital of France?" }] };
      expect(await q.countPromptTokens("qwen", long)).toBeGreaterThan(300); // beyond a rescoring sequence's 256 tokens
      const generation = q.generate({ model: "qwen", prompt: { kind: "completion", text: "Count from one to one hundred in words:" }, maxTokens: 96, sampling: { temperature: 0 } }).then((r) => (order.push("generation"), r));
      await new Promise((r) => setTimeout(r, 300)); // the generation holds the only slot
      expect(q.queueState()).toMatchObject({ running: 1, queued: 0 });
      const short = q.scoreAnswer("qwen", question, "Paris", { endedByLength: false }).then((c) => (order.push("short check"), c));
      const longCheck = q.scoreAnswer("qwen", long, "Paris", { endedByLength: false }).then((c) => (order.push("long check"), c));
      const [g, c1, c2] = await Promise.all([generation, short, longCheck]);
      expect(g.tokens).toBe(96);
      expect(order).toEqual(["short check", "generation", "long check"]);
      expect(c1).toBeGreaterThan(0);
      expect(c2).toBeGreaterThan(0);
    } finally {
      await q.dispose();
    }
  });
});
