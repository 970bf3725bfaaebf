// Answer quality of the MOE against its own experts, on the evaluation set
// (node/bench/quality/evaluation.jsonl: 224 questions of 16 kinds, none in the calibration set the
// shipped weights come from; see quality/make-sets.ts). Experts run in this process on node-llama-cpp
// with the policy's exact prompts and sampling, so each answer is the one a mesh worker would give.
// Reported, each with its mean generations and (simulated parallel) wall time per question:
// - each expert alone, and the oracle (any eligible expert right: the ceiling of any vote);
// - the best expert × k samples (temperature 0.7, majority), k = the MOE's mean generations;
// - the MOE over the experts' answers with the policy's weights (calibrated), with hand-set weights
//   (the policy before calibration) and with equal weights; each with quorum all and early.
// Wall time: the experts of a job run in parallel on the mesh, so a job waits for its slowest expert
// (all) or for the answer that decided it (early, quorum.ts over the answers in the order of their
// measured latency); the figures are those latencies, measured one after another on this machine.
//
//   npx tsx node/bench/quality-bench.ts    (RIPPLE_QUALITY_SET=FILE, RIPPLE_QUALITY_LIMIT=N, RIPPLE_QUALITY_K=k,
//                                           RIPPLE_QUALITY_POLICY=FILE, RIPPLE_BENCH_THREADS=n)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../src/log.ts";
import { expertWeight, inferencePolicyFile, loadInferencePolicy, type ExpertSpec } from "../src/config/inference-policy.ts";
import { isCorrect, loadQuestions, type QualityQuestion } from "../src/moe/labelled-set.ts";
import { openLocalExperts } from "../src/moe/local-expert-runner.ts";
import { outcomeDecided } from "../src/moe/quorum.ts";
import { reduce } from "../src/moe/reducer.ts";
import { confidenceFactor } from "../src/moe/vote-confidence.ts";

const log = createLogger("quality-bench", "warn");
const limit = Number(process.env.RIPPLE_QUALITY_LIMIT ?? Infinity);
const threads = Number(process.env.RIPPLE_BENCH_THREADS ?? 2);
const setFile = process.env.RIPPLE_QUALITY_SET ?? join(import.meta.dirname, "quality", "evaluation.jsonl");
const policy = loadInferencePolicy(process.env.RIPPLE_QUALITY_POLICY ?? inferencePolicyFile);
/** The weights of the shipped policy before calibration (2026-12-04), for comparison; SmolLM2, added later, at Gemma's 0.6. */
const handWeights: Record<string, number> = { "qwen-chat-greedy": 1.0, "qwen-few-shot-greedy": 0.9, "qwen-chat-warm": 0.7, "qwen-completion-few-shot": 0.8, "gemma-completion-few-shot": 0.6, "smol-completion-few-shot": 0.6 };

const questions = loadQuestions(setFile).slice(0, limit);
const runner = await openLocalExperts(policy, { threads, log });
const experts = policy.local_tier.experts.filter((e) => e.kind === "model");

interface Answer {
  expert: ExpertSpec;
  text: string;
  ms: number;
  correct: boolean;
  /** The model's probability for its own answer (answer-confidence.ts). */
  confidence: number | undefined;
}

async function ask(expert: ExpertSpec, q: QualityQuestion, override?: { temperature: number; seed: number }): Promise<Answer> {
  const r = await runner.answer(expert, q, { ...(override ? { sampling: override } : {}), confidence: true });
  return { expert, text: r.text, ms: r.latencyMs, correct: isCorrect(q, r.text), confidence: r.confidence };
}

interface Outcome {
  correct: boolean;
  generations: number;
  wallMs: number;
}

/**
 * The MOE's answer over `answers`, waiting for all or stopping at quorum. `weightOf`: an answer's
 * counted weight; `ceilingOf`: the most an unanswered slot of that expert could count (its weight,
 * also when votes are scaled by confidence, which is at most 1).
 */
function moe(q: QualityQuestion, answers: Answer[], weightOf: (a: Answer) => number, ceilingOf: (e: ExpertSpec) => number, quorum: "all" | "early"): Outcome {
  const byArrival = [...answers].sort((a, b) => a.ms - b.ms);
  let used = byArrival.length;
  if (quorum === "early") {
    for (let n = 1; n <= byArrival.length; n++) {
      const answered = byArrival.slice(0, n).map((a, slot) => ({ slot, weight: weightOf(a), text: a.text, remotePeer: null }));
      const pending = byArrival.slice(n).map((a, i) => ({ slot: n + i, weight: ceilingOf(a.expert) }));
      if (outcomeDecided({ answered, pending, minAgreement: policy.reducer.min_agreement })) {
        used = n;
        break;
      }
    }
  }
  const received = byArrival.slice(0, used);
  const merged = reduce(
    received.map((a, slot) => ({ slot, expert: a.expert.name, weight: weightOf(a), text: a.text })),
    { answerKind: "short", minAgreement: policy.reducer.min_agreement, requireConsensus: false, conflictResolution: "highest_weight_wins" },
  );
  return { correct: isCorrect(q, merged.response), generations: used, wallMs: received.at(-1)!.ms };
}

const started = performance.now();
const perQuestion: Array<{ q: QualityQuestion; answers: Answer[] }> = [];
for (const [i, q] of questions.entries()) {
  const answers: Answer[] = [];
  for (const e of experts) answers.push(await ask(e, q));
  perQuestion.push({ q, answers });
  if ((i + 1) % 10 === 0) process.stderr.write(`  ${i + 1}/${questions.length} questions, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}
const eligible = (p: (typeof perQuestion)[number]) => p.answers.filter((a) => a.expert.specialization.includes(p.q.task_type));

type Row = { who: string; correct: number; generations: number; wallMs: number };
const rows: Row[] = [];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
for (const e of experts) {
  const own = perQuestion.map((p) => p.answers.find((a) => a.expert === e)!);
  rows.push({ who: `expert ${e.name}`, correct: own.filter((a) => a.correct).length, generations: questions.length, wallMs: sum(own.map((a) => a.ms)) });
}
const best = [...rows].sort((a, b) => b.correct - a.correct)[0]!;
const bestExpert = experts.find((e) => `expert ${e.name}` === best.who)!;
rows.push({ who: "oracle: any eligible expert right (the ceiling of a vote)", correct: perQuestion.filter((p) => eligible(p).some((a) => a.correct)).length, generations: sum(perQuestion.map((p) => eligible(p).length)), wallMs: sum(perQuestion.map((p) => Math.max(...eligible(p).map((a) => a.ms)))) });

const weightings: Array<[string, (e: ExpertSpec, taskType: string) => number]> = [
  ["policy weights (calibrated)", (e, t) => expertWeight(e, t)],
  ["hand-set weights (before calibration)", (e) => handWeights[e.name] ?? e.weight],
  ["equal weights", () => 1],
];
// Without confidence, × confidence (exponent 1), and × confidence^the policy's exponent when it is not 1.
const exponent = policy.reducer.confidence_exponent;
const scalings: Array<[string, number | null]> = [["", null], [" × confidence", 1], ...(exponent !== 1 ? [[` × confidence^${exponent}`, exponent] as [string, number]] : [])];
for (const [label, weight] of weightings) {
  for (const [scaledLabel, power] of scalings) {
    for (const quorum of ["all", "early"] as const) {
      const counted = (a: Answer, t: string) => weight(a.expert, t) * (power === null ? 1 : confidenceFactor(a.confidence, power));
      const outcomes = perQuestion.map((p) => moe(p.q, eligible(p), (a) => counted(a, p.q.task_type), (e) => weight(e, p.q.task_type), quorum));
      rows.push({ who: `MOE, ${label}${scaledLabel}, quorum ${quorum}`, correct: outcomes.filter((o) => o.correct).length, generations: sum(outcomes.map((o) => o.generations)), wallMs: sum(outcomes.map((o) => o.wallMs)) });
    }
  }
}
if (process.env.RIPPLE_QUALITY_ANSWERS) {
  // Every answer with its confidence, to study other vote rules without running the experts again.
  const lines = perQuestion.flatMap((p) => p.answers.map((a) => JSON.stringify({ id: p.q.id, task_type: p.q.task_type, expert: a.expert.name, text: a.text, correct: a.correct, confidence: a.confidence, ms: Math.round(a.ms) })));
  writeFileSync(process.env.RIPPLE_QUALITY_ANSWERS, `${lines.join("\n")}\n`);
}
// The best expert sampled k times, k = the MOE's mean generations with quorum all (equal work).
const meanMoeGenerations = sum(perQuestion.map((p) => eligible(p).length)) / questions.length;
const k = Number(process.env.RIPPLE_QUALITY_K ?? Math.round(meanMoeGenerations));
let bestK = 0;
let bestKWall = 0;
for (const q of questions) {
  const samples: Answer[] = [];
  for (let s = 1; s <= k; s++) samples.push(await ask(bestExpert, q, { temperature: 0.7, seed: 1000 + s }));
  const vote = reduce(samples.map((a, slot) => ({ slot, expert: `${bestExpert.name}#${slot}`, weight: 1, text: a.text })), { answerKind: "short", minAgreement: 0, requireConsensus: false, conflictResolution: "highest_weight_wins" });
  if (isCorrect(q, vote.response)) bestK++;
  bestKWall += Math.max(...samples.map((a) => a.ms));
}
rows.push({ who: `best expert (${bestExpert.name}) ×${k} samples, majority`, correct: bestK, generations: k * questions.length, wallMs: bestKWall });

const n = questions.length;
const pct = (c: number) => (100 * c) / n;
console.log(`\nAnswer quality on ${n} questions of ${setFile.split("/").pop()} (${new Set(questions.map((q) => q.kind)).size} kinds), ${threads} threads, ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log("| who | correct | accuracy | generations / question | wall / question |\n|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.who} | ${r.correct}/${n} | ${pct(r.correct).toFixed(1)} % | ${(r.generations / n).toFixed(2)} | ${(r.wallMs / n / 1000).toFixed(2)} s |`);
// The summary is for the vote as the policy runs it: its weights, × confidence^its exponent when on, its quorum.
const shipped = `MOE, policy weights (calibrated)${policy.reducer.confidence ? scalings.at(-1)![0] : ""}, quorum `;
const moeRow = rows.find((r) => r.who === `${shipped}${policy.reducer.quorum}`)!;
const moeAll = rows.find((r) => r.who === `${shipped}all`)!;
const moeEarly = rows.find((r) => r.who === `${shipped}early`)!;
const bestKRow = rows.at(-1)!;
console.log(`\n${moeRow.who} (the policy's vote) − best single: ${(pct(moeRow.correct) - pct(best.correct)).toFixed(1)} points; − best ×${k}: ${(pct(moeRow.correct) - pct(bestKRow.correct)).toFixed(1)} points`);
console.log(`its wall time, quorum early ÷ all: ${(moeEarly.wallMs / moeAll.wallMs).toFixed(2)} (generations ${(moeEarly.generations / n).toFixed(2)} vs ${(moeAll.generations / n).toFixed(2)})`);

await runner.dispose();
