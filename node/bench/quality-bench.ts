// Answer quality of the default MOE policy on our own short-answer question set
// (node/bench/quality/questions.json): the accuracy of each expert alone, of the best expert asked k
// times (temperature 0.7, k seeds) with a majority vote, and of the MOE (the reducer over the
// experts' answers). Experts run in this process on node-llama-cpp with the policy's exact prompts,
// sampling and seeds, so each expert's answer is the one a mesh worker would give; the mesh only
// changes where they run (see moe-bench.ts for its timing).
//
//   npx tsx node/bench/quality-bench.ts            (RIPPLE_QUALITY_LIMIT=N: first N questions; RIPPLE_QUALITY_K=k)
import { join } from "node:path";
import { modelsDir } from "../setup/paths.mjs";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import { ModelStore } from "../src/inference/model-store.ts";
import { createLogger } from "../src/log.ts";
import { expertTask } from "../src/moe/expert-task.ts";
import { loadInferencePolicy, type ExpertSpec } from "../src/moe/inference-policy.ts";
import { reduce } from "../src/moe/reducer.ts";
import { isCorrect, loadQuestions } from "../src/moe/labelled-set.ts";
import { mkdtempSync, rmSync } from "node:fs";

const log = createLogger("quality-bench", "warn");
const limit = Number(process.env.RIPPLE_QUALITY_LIMIT ?? Infinity);
const k = Number(process.env.RIPPLE_QUALITY_K ?? 5);
const threads = Number(process.env.RIPPLE_BENCH_THREADS ?? 2);

const questions = loadQuestions(join(import.meta.dirname, "quality", "questions.json")).slice(0, limit);
const policy = loadInferencePolicy();
const dataDir = mkdtempSync("/tmp/rm-quality-");
const store = await ModelStore.open({ dataDir, modelsDir: modelsDir(), log });
const engine = await InferenceEngine.create({ resolveModel: (n) => store.get(n), threads, memoryBudgetBytes: 4 * 2 ** 30, maxConcurrent: 1, log });

async function answer(expert: ExpertSpec, prompt: string, taskType: string, seedOverride?: { temperature: number; seed: number }): Promise<string> {
  const task = expertTask(policy, expert, { prompt, taskType });
  const sampling = seedOverride ? { ...task.sampling, ...seedOverride } : task.sampling;
  const r = await engine.generate({ model: task.model, prompt: task.prompt, sampling, maxTokens: task.maxTokens, ...(task.stop ? { stop: task.stop } : {}) });
  return r.text;
}

const experts = policy.local_tier.experts;
const correct = new Map<string, number>(experts.map((e) => [e.name, 0]));
let moeCorrect = 0;
const perQuestion: string[][] = [];
const started = performance.now();
for (const [i, q] of questions.entries()) {
  const eligible = experts.filter((e) => e.specialization.includes(q.task_type));
  const answers: Array<{ expert: ExpertSpec; text: string }> = [];
  for (const e of experts) {
    const text = await answer(e, q.question, q.task_type);
    if (isCorrect(q, text)) correct.set(e.name, correct.get(e.name)! + 1);
    if (eligible.includes(e)) answers.push({ expert: e, text });
  }
  perQuestion.push(answers.map((a) => a.text));
  const merged = reduce(
    answers.map((a, slot) => ({ slot, expert: a.expert.name, weight: a.expert.weight, text: a.text })),
    { answerKind: policy.task_types[q.task_type]!.answer, minAgreement: policy.reducer.min_agreement, requireConsensus: false, conflictResolution: "highest_weight_wins" },
  );
  if (isCorrect(q, merged.response)) moeCorrect++;
  if ((i + 1) % 10 === 0) process.stderr.write(`  ${i + 1}/${questions.length} questions, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}

const best = [...correct].sort((a, b) => b[1] - a[1])[0]!;
const bestExpert = experts.find((e) => e.name === best[0])!;
let bestKCorrect = 0;
for (const q of questions) {
  const samples: string[] = [];
  for (let s = 1; s <= k; s++) samples.push(await answer(bestExpert, q.question, q.task_type, { temperature: 0.7, seed: 1000 + s }));
  const vote = reduce(
    samples.map((text, slot) => ({ slot, expert: `${bestExpert.name}#${slot}`, weight: 1, text })),
    { answerKind: "short", minAgreement: 0, requireConsensus: false, conflictResolution: "highest_weight_wins" },
  );
  if (isCorrect(q, vote.response)) bestKCorrect++;
}

const n = questions.length;
const pct = (c: number) => `${((100 * c) / n).toFixed(1)} %`.padStart(8);
console.log(`\nAnswer quality on ${n} short-answer questions (${new Set(questions.map((q) => q.kind)).size} kinds), ${threads} threads, ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log("| who | correct | accuracy |\n|---|---|---|");
for (const e of experts) console.log(`| expert ${e.name} (w=${e.weight}) | ${correct.get(e.name)}/${n} | ${pct(correct.get(e.name)!)} |`);
console.log(`| best expert (${bestExpert.name}) ×${k} samples, majority vote | ${bestKCorrect}/${n} | ${pct(bestKCorrect)} |`);
console.log(`| MOE (${experts.length} experts, weighted consensus) | ${moeCorrect}/${n} | ${pct(moeCorrect)} |`);

await engine.dispose();
rmSync(dataDir, { recursive: true, force: true });
