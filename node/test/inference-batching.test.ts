// Batching (compute policy `inference.batching`, batching.ts): a model's slots as sequences of one
// shared context (shared-context.ts) against a context per request, on the tiny random-weights model
// through the real engine: the same text either way, one context for all, sequences freed on abort,
// rescoring on the shared context.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import { complete, resolver, silent, tinyAs } from "./support/inference-fixtures.ts";

describe("InferenceEngine with batching on: a model's slots are sequences of one shared context (tiny model, 3 slots)", () => {
  let shared: InferenceEngine, perRequest: InferenceEngine;
  const prompts = ["Alpha beta gamma", "Something else entirely, and longer", "A third prompt of its own"];
  beforeAll(async () => {
    const make = (batching: "on" | "off") => InferenceEngine.create({ resolveModel: resolver([tinyAs("tiny")]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 3, contextSize: 1024, batching, log: silent });
    [shared, perRequest] = [await make("on"), await make("off")];
  });
  afterAll(async () => {
    await shared?.dispose();
    await perRequest?.dispose();
  });

  it("says so in describe(); auto is a context per request on the CPU", async () => {
    expect(shared.describe().batching).toEqual({ requested: "on", mode: "shared-context", reason: "batching: on in the compute policy" });
    expect(perRequest.describe().batching).toMatchObject({ requested: "off", mode: "context-per-request" });
    const auto = await InferenceEngine.create({ resolveModel: resolver([tinyAs("tiny")]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 3, log: silent });
    expect(auto.describe().batching).toMatchObject({ requested: "auto", mode: "context-per-request", reason: expect.stringMatching(/CPU/) });
    await auto.dispose();
    await expect(InferenceEngine.create({ resolveModel: resolver([]), threads: 1, memoryBudgetBytes: 1, maxConcurrent: 1, batching: "yes" as "on", log: silent })).rejects.toThrow(/batching must be one of auto, on, off, got yes/);
  });

  it("runs concurrent requests side by side in one context, each giving what it gives alone", async () => {
    const alone = [];
    for (const p of prompts) alone.push((await perRequest.generate(complete("tiny", p, 48))).text);
    const streamed = [0, 0, 0];
    const together = await Promise.all(prompts.map((p, i) => shared.generate(complete("tiny", p, 48, { onToken: () => void streamed[i]!++ }))));
    expect(together.map((r) => r.text)).toEqual(alone);
    expect(new Set(alone).size).toBe(3);
    expect(streamed.every((n) => n > 0)).toBe(true);
    // One context for the three; the per-request engine makes one each.
    expect(shared.loaded()).toEqual([expect.objectContaining({ name: "tiny", contexts: 1 })]);
    expect((await Promise.all(prompts.map((p) => perRequest.generate(complete("tiny", p, 48))))).map((r) => r.text)).toEqual(alone);
    expect(perRequest.loaded()).toEqual([expect.objectContaining({ name: "tiny", contexts: 3 })]);
  });

  it("frees an aborted request's sequence: its neighbours finish unchanged, and every slot serves again", async () => {
    const alone = (await perRequest.generate(complete("tiny", prompts[1]!, 48))).text;
    const abort = new AbortController();
    let pieces = 0;
    const aborted = shared.generate(complete("tiny", "Once upon a time", 900, { signal: abort.signal, onToken: () => void (++pieces === 3 && abort.abort()) }));
    const [a, b] = await Promise.all([aborted, shared.generate(complete("tiny", prompts[1]!, 48))]);
    expect(a.finishReason).toBe("aborted");
    expect(b.text).toBe(alone);
    // All three sequences free: three at once again, and a fourth waits in the queue for one.
    const running = [...prompts, prompts[0]!].map((p) => shared.generate(complete("tiny", p, 8)));
    expect(shared.queueState()).toMatchObject({ running: 3, queued: 1 });
    const four = await Promise.all(running);
    expect(four.map((r) => r.finishReason)).toEqual(["length", "length", "length", "length"]);
    expect(four[3]!.text).toBe(four[0]!.text);
    expect(shared.queueState()).toMatchObject({ running: 0, queued: 0 });
  });

  it("rescores an answer too long for the rescoring context on a sequence of the shared context, as the per-request engine does", async () => {
    const longPrompt = { kind: "completion" as const, text: "word ".repeat(400) };
    const answer = (await perRequest.generate({ ...complete("tiny", "x", 8), prompt: longPrompt })).text;
    const expected = await perRequest.scoreAnswer("tiny", longPrompt, answer, { endedByLength: true });
    expect(expected).toBeGreaterThan(0);
    const [s1, , s2] = await Promise.all([
      shared.scoreAnswer("tiny", longPrompt, answer, { endedByLength: true }),
      shared.generate(complete("tiny", prompts[0]!, 16)),
      shared.scoreAnswer("tiny", longPrompt, answer, { endedByLength: true }),
    ]);
    expect(s1).toBeCloseTo(expected!, 5);
    expect(s2).toBeCloseTo(expected!, 5);
    expect(shared.loaded()).toEqual([expect.objectContaining({ contexts: 1 })]);
  });
});
