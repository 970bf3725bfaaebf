// `ripple moe calibrate`: weights from measured accuracy (with a prior), per task type, with experts
// that make the same mistakes discounted so that a block of near-duplicates weighs about as much as one
// independent expert; the confidence exponent the replayed vote does best with; and the real command
// on the pinned models writes the same policy twice from the same set and seed, keeping every other
// setting and comment.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { calibrateWeights, type CalibrationAnswer } from "../src/moe/calibration.ts";
import { inferencePolicyFile, loadInferencePolicy } from "../src/config/inference-policy.ts";
import { loadQuestions } from "../src/moe/labelled-set.ts";
import { ripple } from "./support/ripple-process.ts";

/** n questions of one task type; `wrong` says which ones an expert gets wrong and with what answer. */
function answers(expert: string, n: number, wrong: (i: number) => string | null, taskType = "short_answer"): CalibrationAnswer[] {
  return Array.from({ length: n }, (_, i) => {
    const w = wrong(i);
    return { question: `q-${i}`, taskType, expert, answer: w ?? `right ${i}`, correct: w === null };
  });
}

describe("calibrateWeights", () => {
  it("a block of experts that make the same mistakes weighs about as much as one independent expert", () => {
    const sameMistakes = (i: number) => (i % 2 === 0 ? `paris${i}` : null); // wrong on half, always the same wrong answer
    const own = (i: number) => (i % 2 === 1 ? `lyon${i}` : null); // wrong on the other half: its mistakes are its own
    const set = [...answers("dup-a", 20, sameMistakes), ...answers("dup-b", 20, sameMistakes), ...answers("dup-c", 20, sameMistakes), ...answers("independent", 20, own)];
    const r = calibrateWeights(set);
    const dup = r.experts["dup-a"]!;
    const ind = r.experts.independent!;
    expect(dup.accuracy).toBe(ind.accuracy); // equally accurate alone
    expect(ind.redundancy).toBe(1);
    expect(dup.redundancy).toBeGreaterThan(2.5);
    const block = r.experts["dup-a"]!.weight + r.experts["dup-b"]!.weight + r.experts["dup-c"]!.weight;
    expect(block / ind.weight).toBeGreaterThan(0.9);
    expect(block / ind.weight).toBeLessThan(1.15);
    expect(r.pairs.find((p) => p.a === "dup-a" && p.b === "dup-b")).toMatchObject({ sameWrong: 10, eitherWrong: 10 });
  });

  it("a more accurate expert weighs more; a prior keeps one lucky answer from swinging a weight", () => {
    const r = calibrateWeights([...answers("good", 40, (i) => (i % 5 === 0 ? `x${i}` : null)), ...answers("poor", 40, (i) => (i % 5 !== 0 ? `y${i}` : null)), ...answers("lucky", 1, () => null)]);
    expect(r.experts.good!.weight).toBeGreaterThan(r.experts.poor!.weight);
    expect(r.experts.lucky!.accuracy).toBe(0.6); // (1 + 2) / (1 + 4), not 1.0
    expect(r.experts.lucky!.weight).toBeLessThan(r.experts.good!.weight);
  });

  it("weights per task type, pulled toward the expert's overall accuracy when a type has few questions", () => {
    const set = [...answers("e", 30, () => null, "short_answer"), ...answers("e", 2, () => "wrong", "math").map((a) => ({ ...a, question: `m-${a.question}` }))];
    const w = calibrateWeights(set).experts.e!.weights;
    expect(w.short_answer).toBeGreaterThan(w.math!);
    expect(w.math).toBeGreaterThan(0.05 * 10); // 2 wrong math answers do not zero it: the prior holds it up
  });

  it("picks the confidence exponent under which the replayed vote is right most often, the smallest on a tie", () => {
    // Three near-duplicate experts (one weight between them) and a less accurate fourth: on 10
    // questions the three agree, fairly sure (0.7), on a wrong answer while the fourth is sure (0.97)
    // and right; on 20 the fourth is wrong and unsure (0.3); on 10 all are right.
    const set: CalibrationAnswer[] = [];
    const add = (i: number, dups: [string, boolean, number], fourth: [string, boolean, number]) => {
      for (const e of ["dup-a", "dup-b", "dup-c"]) set.push({ question: `q-${i}`, taskType: "short_answer", expert: e, answer: dups[0], correct: dups[1], confidence: dups[2] });
      set.push({ question: `q-${i}`, taskType: "short_answer", expert: "fourth", answer: fourth[0], correct: fourth[1], confidence: fourth[2] });
    };
    for (let i = 0; i < 40; i++) {
      if (i < 10) add(i, ["lyon", false, 0.7], [`paris${i}`, true, 0.97]);
      else if (i < 30) add(i, [`paris${i}`, true, 0.9], [`x${i}`, false, 0.3]);
      else add(i, [`paris${i}`, true, 0.9], [`paris${i}`, true, 0.97]);
    }
    const c = calibrateWeights(set).confidenceExponent!;
    expect(c.questions).toBe(40);
    expect(c.correct.find((x) => x.exponent === 1)!.correct).toBe(30); // the fairly sure block wins the traps
    expect(Math.max(...c.correct.map((x) => x.correct))).toBe(40);
    expect(c.exponent).toBe(Math.min(...c.correct.filter((x) => x.correct === 40).map((x) => x.exponent)));
    expect(c.exponent).toBeGreaterThan(1);
    // Confidences that change no outcome keep the plain vote; answers without them calibrate no exponent.
    expect(calibrateWeights(set.map((a) => ({ ...a, confidence: 0.8 }))).confidenceExponent!.exponent).toBe(1);
    expect(calibrateWeights(set.map(({ confidence: _c, ...a }) => a)).confidenceExponent).toBeUndefined();
  });

  it("gives the same result for the same answers in any order", () => {
    const set = [...answers("a", 12, (i) => (i % 3 ? null : "k")), ...answers("b", 12, (i) => (i % 4 ? null : "k")), ...answers("c", 12, (i) => (i % 2 ? null : `c${i}`))];
    const shuffled = [...set].sort((x, y) => (x.expert + x.question).split("").reverse().join("").localeCompare((y.expert + y.question).split("").reverse().join("")));
    expect(calibrateWeights(shuffled)).toEqual(calibrateWeights(set));
  });
});

describe("the shipped policy's weights", () => {
  it("are what calibration computes from the recorded answers of the calibration set, confidence exponent included", () => {
    const recorded = readFileSync(join(import.meta.dirname, "..", "bench", "quality", "calibration-answers.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as CalibrationAnswer);
    expect(new Set(recorded.map((a) => a.question)).size).toBe(128);
    const calibrated = calibrateWeights(recorded);
    const computed = calibrated.experts;
    const shipped = loadInferencePolicy(inferencePolicyFile);
    for (const e of shipped.local_tier.experts) {
      expect({ name: e.name, weight: e.weight, weights: e.weights }).toEqual({ name: e.name, weight: computed[e.name]!.weight, weights: computed[e.name]!.weights });
    }
    // The answers carry their confidences, and the shipped exponent is the one they calibrate.
    expect(calibrated.confidenceExponent?.exponent).toBe(shipped.reducer.confidence_exponent);
    // Experts built on one model and one prompt share mistakes; the two that only share the model less so.
    const pair = (a: string, b: string) => calibrateWeights(recorded).pairs.find((p) => p.a === a && p.b === b)!.similarity;
    expect(pair("qwen-chat-greedy", "qwen-chat-warm")).toBeGreaterThan(pair("gemma-completion-few-shot", "qwen-chat-greedy"));
  });
});

describe("ripple moe calibrate on the pinned models", () => {
  const tmp = mkdtempSync("/tmp/rm-calibrate-test-");
  const setFile = join(tmp, "set.jsonl");
  const all = loadQuestions(join(import.meta.dirname, "..", "bench", "quality", "questions.json"));
  writeFileSync(setFile, [all[1], all[45], all[90]].map((q) => JSON.stringify(q)).join("\n") + "\n");
  const calibrate = (out: string, seed: number) => ripple(["moe", "calibrate", "--set", setFile, "--seed", String(seed), "--threads", "1", "--out", out, "--answers", `${out}.answers.jsonl`], { timeoutMs: 300_000 });

  it("writes the same policy twice from the same set and seed, with only the weights changed", async () => {
    const [a, b] = [join(tmp, "a.yaml"), join(tmp, "b.yaml")];
    const first = await calibrate(a, 7);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/calibrated on 3 questions/);
    expect(first.stderr).toMatch(/calibrate: \d+\/\d+ answers/);
    const second = await calibrate(b, 7);
    expect(second.code, second.stderr).toBe(0);
    expect(readFileSync(b, "utf8")).toBe(readFileSync(a, "utf8"));
    expect(readFileSync(`${b}.answers.jsonl`, "utf8")).toBe(readFileSync(`${a}.answers.jsonl`, "utf8"));

    const shipped = loadInferencePolicy(inferencePolicyFile);
    const written = loadInferencePolicy(a);
    // Everything but the experts' weights and the confidence exponent is as it was, comments included.
    const apart = (p: typeof shipped) => ({ ...p, local_tier: { ...p.local_tier, experts: [] }, reducer: { ...p.reducer, confidence_exponent: 0 } });
    expect(apart(written)).toEqual(apart(shipped));
    expect(first.stdout).toMatch(new RegExp(`confidence exponent ${written.reducer.confidence_exponent} \\(the replayed vote, right answers of 3 per exponent: 1: \\d`));
    expect(readFileSync(`${a}.answers.jsonl`, "utf8").split("\n").filter(Boolean).every((l) => typeof JSON.parse(l).confidence === "number")).toBe(true);
    expect(written.local_tier.experts.map(({ weight: _w, weights: _ws, ...e }) => e)).toEqual(shipped.local_tier.experts.map(({ weight: _w, weights: _ws, ...e }) => e));
    expect(readFileSync(a, "utf8")).toContain("# early: stop a short-answer job as soon as");
    expect(readFileSync(a, "utf8")).toMatch(/# weight \/ weights: `ripple moe calibrate --set set\.jsonl --seed 7` \(3 questions/);
    for (const e of written.local_tier.experts) expect(Object.keys(e.weights ?? {}).length).toBeGreaterThan(0);
  }, 600_000);

  it("names the line of a set that is not JSON, and writes nothing", async () => {
    const bad = join(tmp, "bad.jsonl");
    writeFileSync(bad, `${JSON.stringify(all[0])}\n{not json\n`);
    const r = await ripple(["moe", "calibrate", "--set", bad, "--out", join(tmp, "never.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.jsonl cannot be read as a question set: line 2 is not JSON/);
  });
});
