// Confidence weighting's rules outside the engine: the worker's figure is a claim, bounded before
// it weighs anything; the task asks for it only when the policy's reducer.confidence is on; and the
// answer schema refuses figures outside 0..1.
import { describe, expect, it } from "vitest";
import { inferencePolicySchema, loadInferencePolicy } from "../src/config/inference-policy.ts";
import { expertTask, expertTaskSchema } from "../src/protocol/expert-task.ts";
import { jobAnswerSchema } from "../src/protocol/job-protocol.ts";
import { confidenceFactor, MIN_CONFIDENCE } from "../src/moe/vote-confidence.ts";

const done = (confidence?: unknown) => ({
  outcome: "done",
  output: "Ottawa",
  response_hash: "a".repeat(64),
  tokens: 2,
  prompt_tokens: 30,
  latency_ms: 400,
  model: { name: "qwen", sha256: "b".repeat(64) },
  finish_reason: "stop",
  ...(confidence === undefined ? {} : { confidence }),
});

describe("confidence weighting", () => {
  it("bounds a worker's claimed confidence to [MIN_CONFIDENCE, 1]; no figure counts as 1", () => {
    expect(confidenceFactor(0.42)).toBe(0.42);
    expect(confidenceFactor(1)).toBe(1);
    expect(confidenceFactor(0)).toBe(MIN_CONFIDENCE);
    expect(confidenceFactor(7)).toBe(1);
    expect(confidenceFactor(Number.NaN)).toBe(1);
    expect(confidenceFactor(undefined)).toBe(1);
  });

  it("raises the bounded figure to the policy's exponent: a sure vote outweighs unsure ones, and a claim still only lowers a vote", () => {
    expect(confidenceFactor(0.9, 5)).toBeCloseTo(0.59049, 10);
    expect(confidenceFactor(7, 5)).toBe(1);
    expect(confidenceFactor(undefined, 5)).toBe(1);
    expect(confidenceFactor(0, 16)).toBeGreaterThan(0); // a weight must stay positive for the reducer
    // One expert sure at 0.95 against two agreeing at 0.6, equal weights: the two win with exponent 1, the sure one with 5.
    expect(confidenceFactor(0.95)).toBeLessThan(2 * confidenceFactor(0.6));
    expect(confidenceFactor(0.95, 5)).toBeGreaterThan(2 * confidenceFactor(0.6, 5));
    // The policy's setting: absent in older policies (1), bounded to 1..16.
    const policy = loadInferencePolicy();
    const { confidence_exponent: _dropped, ...older } = policy.reducer;
    expect(inferencePolicySchema.parse({ ...policy, reducer: older }).reducer.confidence_exponent).toBe(1);
    for (const bad of [0.5, 17, "5"]) {
      const r = inferencePolicySchema.safeParse({ ...policy, reducer: { ...policy.reducer, confidence_exponent: bad } });
      expect(r.success, `confidence_exponent ${JSON.stringify(bad)}`).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["reducer", "confidence_exponent"]);
    }
  });

  it("the job answer schema takes a confidence in 0..1 and refuses anything else", () => {
    expect(jobAnswerSchema.safeParse(done()).success).toBe(true);
    expect(jobAnswerSchema.safeParse(done(0.8731)).success).toBe(true);
    for (const bad of [1.01, -0.1, "0.9", null]) {
      const r = jobAnswerSchema.safeParse(done(bad));
      expect(r.success, `confidence ${JSON.stringify(bad)}`).toBe(false);
    }
  });

  it("an expert task asks for confidence only when the policy's reducer.confidence is on", () => {
    const policy = loadInferencePolicy();
    const expert = policy.local_tier.experts.find((e) => e.kind === "model")!;
    const on = inferencePolicySchema.parse({ ...policy, reducer: { ...policy.reducer, confidence: true } });
    const off = inferencePolicySchema.parse({ ...policy, reducer: { ...policy.reducer, confidence: false } });
    const input = { prompt: "What is the capital of Canada?", taskType: "short_answer" };
    expect(expertTask(on, expert, input).confidence).toBe(true);
    expect(expertTask(off, expert, input).confidence).toBeUndefined();
    expect(expertTaskSchema.safeParse(expertTask(on, expert, input)).success).toBe(true);
  });
});
