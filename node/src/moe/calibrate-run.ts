// `ripple moe calibrate`: every expert of an inference policy answers every question of a labelled
// set it is specialised in, on this machine (node-llama-cpp, the policy's exact prompts and sampling;
// no node needs to run), and calibration.ts turns the graded answers into weights. The result can be
// written as a copy of the policy with only the experts' `weight` and `weights` (and, with confidence
// weighting on, `reducer.confidence_exponent`) changed (comments and every other setting kept).
//
// Reproducible: greedy experts are deterministic; an expert that samples gets, per question, the seed
// derived from (--seed, expert, question id), so the same set, policy, seed and threads give the same
// answers, hence the same file.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseDocument } from "yaml";
import type { Logger } from "../log.ts";
import { calibrateWeights, type CalibrationAnswer, type CalibrationResult } from "./calibration.ts";
import { loadInferencePolicy, type InferencePolicy } from "../config/inference-policy.ts";
import { isCorrect, loadQuestions, type QualityQuestion } from "./labelled-set.ts";
import { openLocalExperts } from "./local-expert-runner.ts";

export interface CalibrationRunOptions {
  policyFile: string;
  setFile: string;
  seed: number;
  threads: number;
  /** Only the first N questions. */
  limit?: number;
  modelsDir?: string;
  log: Logger;
  onProgress?: (done: number, total: number) => void;
}

export interface CalibrationRun {
  policy: InferencePolicy;
  questions: QualityQuestion[];
  answers: CalibrationAnswer[];
  result: CalibrationResult;
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** The seed an expert that samples uses for a question: fixed by (run seed, expert, question). */
export function sampleSeed(seed: number, expert: string, question: string): number {
  return createHash("sha256").update(`${seed}\0${expert}\0${question}`).digest().readUInt32BE(0) & 0x7fffffff;
}

export async function runCalibration(opts: CalibrationRunOptions): Promise<CalibrationRun> {
  const policy = loadInferencePolicy(opts.policyFile);
  const questions = loadQuestions(opts.setFile).slice(0, opts.limit ?? Infinity);
  const experts = policy.local_tier.experts.filter((e) => e.kind === "model");
  const work = questions.flatMap((q) => experts.filter((e) => e.specialization.includes(q.task_type)).map((e) => ({ q, e })));
  const runner = await openLocalExperts(policy, { threads: opts.threads, log: opts.log, ...(opts.modelsDir ? { modelsDir: opts.modelsDir } : {}) });
  const answers: CalibrationAnswer[] = [];
  try {
    for (const [i, { q, e }] of work.entries()) {
      // An expert that samples gets a seed fixed by (run seed, expert, question): reproducible runs.
      // With confidence weighting on, each answer's confidence too: the exponent is calibrated from them.
      const sampling = e.sampling.temperature > 0 ? { sampling: { seed: sampleSeed(opts.seed, e.name, q.id) } } : {};
      const { text, confidence } = await runner.answer(e, q, { ...sampling, ...(policy.reducer.confidence ? { confidence: true } : {}) });
      answers.push({ question: q.id, taskType: q.task_type, expert: e.name, answer: text, correct: isCorrect(q, text), ...(confidence !== undefined ? { confidence: round6(confidence) } : {}) });
      opts.onProgress?.(i + 1, work.length);
    }
  } finally {
    await runner.dispose();
  }
  return { policy, questions, answers, result: calibrateWeights(answers) };
}

/**
 * The policy file with each calibrated expert's `weight` and `weights` replaced, everything else as it
 * was (comments included), and a comment saying where the weights came from.
 */
export function calibratedPolicyText(policyFile: string, result: CalibrationResult, source: { setFile: string; seed: number; questions: number }): string {
  const doc = parseDocument(readFileSync(policyFile, "utf8"));
  const experts = doc.getIn(["local_tier", "experts"]) as { items: Array<{ get(k: string): unknown; set(k: string, v: unknown): void }> } | undefined;
  for (const item of experts?.items ?? []) {
    const calibrated = result.experts[String(item.get("name"))];
    if (!calibrated) continue;
    item.set("weight", calibrated.weight);
    item.set("weights", doc.createNode(calibrated.weights, { flow: true }));
  }
  const setHash = createHash("sha256").update(readFileSync(source.setFile)).digest("hex").slice(0, 16);
  const note = ` weight / weights: \`ripple moe calibrate --set ${basename(source.setFile)} --seed ${source.seed}\` (${source.questions} questions, set sha256 ${setHash}…)`;
  if (result.confidenceExponent) doc.setIn(["reducer", "confidence_exponent"], result.confidenceExponent.exponent);
  const node = doc.getIn(["local_tier", "experts"], true) as { commentBefore?: string | null } | undefined;
  if (node) node.commentBefore = [node.commentBefore?.split("\n").filter((l) => !l.includes("ripple moe calibrate")).join("\n"), note].filter(Boolean).join("\n");
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
