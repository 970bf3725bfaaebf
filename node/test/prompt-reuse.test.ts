// A generation's prompt kept for the next of the same scope (context-pool.ts, GenerateRequest
// .promptReuseScope), on the tiny model through the real engine: the shared start is not evaluated
// again and the answer is what a fresh engine gives; another scope, no scope, an aborted generation
// and rescoring never reuse it; token counts stay per request.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { GenerateRequest } from "../src/inference/inference-types.ts";
import { complete, resolver, silent, tinyAs } from "./support/inference-fixtures.ts";

const header = "Answer the question. Q: What is red? A: a colour. Q: What is a cat? A: an animal. Q: ";
const ask = (question: string, extra: Partial<GenerateRequest> = {}) => complete("tiny", header + question + " A:", 16, extra);

describe("prompt reuse between generations of one scope (tiny model, one slot)", () => {
  let engine: InferenceEngine, fresh: InferenceEngine;
  const make = () => InferenceEngine.create({ resolveModel: resolver([tinyAs("tiny")]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, contextSize: 1024, log: silent });
  beforeAll(async () => {
    [engine, fresh] = [await make(), await make()];
  });
  afterAll(async () => {
    await engine?.dispose();
    await fresh?.dispose();
  });
  const counts = () => engine.loaded()[0]!.generationPromptTokens;

  it("evaluates only where the next prompt of the same scope differs, and answers as a fresh engine does", async () => {
    const first = await engine.generate(ask("What is blue?", { promptReuseScope: "alice" }));
    const before = counts();
    expect(before.reused).toBe(0);
    const second = await engine.generate(ask("What is a dog?", { promptReuseScope: "alice" }));
    const after = counts();
    const headerTokens = after.reused - before.reused;
    // Everything up to where the questions differ came from the kept sequence.
    expect(headerTokens).toBeGreaterThan(20);
    expect(after.evaluated - before.evaluated).toBe(second.promptTokens - headerTokens);
    const reference = await fresh.generate(ask("What is a dog?"));
    expect(second.text).toBe(reference.text);
    expect(second.tokens).toBe(reference.tokens);
    expect(second.promptTokens).toBe(reference.promptTokens);
    expect(first.tokens).toBeGreaterThan(0);
  });

  it("never reuses another scope's prompt, nor keeps one without a scope or after an abort", async () => {
    await engine.generate(ask("What is green?", { promptReuseScope: "alice" }));
    let before = counts();
    await engine.generate(ask("What is green?", { promptReuseScope: "bob" }));
    expect(counts().reused).toBe(before.reused);
    // Bob's own second prompt reuses Bob's.
    await engine.generate(ask("What is yellow?", { promptReuseScope: "bob" }));
    expect(counts().reused).toBeGreaterThan(before.reused);
    before = counts();
    await engine.generate(ask("What is yellow?"));
    await engine.generate(ask("What is yellow?", { promptReuseScope: "bob" }));
    expect(counts().reused).toBe(before.reused); // the unscoped request disposed Bob's kept sequence
    const abort = new AbortController();
    let pieces = 0;
    const aborted = await engine.generate(complete("tiny", header + "Tell a long story", 400, { promptReuseScope: "carol", signal: abort.signal, onToken: () => void (++pieces === 2 && abort.abort()) }));
    expect(aborted.finishReason).toBe("aborted");
    before = counts();
    await engine.generate(ask("What is a tree?", { promptReuseScope: "carol" }));
    expect(counts().reused).toBe(before.reused);
  });

  it("counts each request's own tokens on a reused sequence, and scores its confidence as a fresh engine does", async () => {
    await engine.generate(ask("What is salt?", { promptReuseScope: "dave" }));
    const reused = await engine.generate(ask("What is sugar?", { promptReuseScope: "dave", confidence: true }));
    const reference = await fresh.generate(ask("What is sugar?", { confidence: true }));
    expect(reused.tokens).toBe(reference.tokens);
    expect(reused.confidence).toBeCloseTo(reference.confidence!, 4);
  });
});
