// `npx tsx node/bench/rescore-bench.ts`: what checking a worker's claimed confidence costs the
// requester (reducer.confidence on; slot-runner.ts checkedConfidence). For each expert of the shipped
// inference policy that runs on Qwen, on one question: the worker's generation with its confidence
// (InferenceEngine.generate, confidence: true) against the requester's rescoring of the same answer
// (InferenceEngine.scoreAnswer), side by side in one process with the same threads, alternating, and
// that both give the same figure. The requester pays the rescoring in its own generation queue.
//
// Env: RIPPLE_BENCH_RUNS (runs per expert, default 5), RIPPLE_BENCH_THREADS (default 1: what
// freeCoreThreads picks on this 2-core machine).
import { join } from "node:path";
import { pino } from "pino";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { loadInferencePolicy } from "../src/config/inference-policy.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { RegisteredModel } from "../src/inference/inference-types.ts";
import { expertTask } from "../src/protocol/expert-task.ts";

const runs = Number(process.env.RIPPLE_BENCH_RUNS ?? 5);
const threads = Number(process.env.RIPPLE_BENCH_THREADS ?? 1);
const question = "What is the capital of France?";

const pinned = loadVersions(versionsFile).models.default;
const qwen: RegisteredModel = { name: pinned.name, file: join(modelsDir(), pinned.file), sha256: pinned.sha256, bytes: pinned.bytes };
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

const policy = loadInferencePolicy();
const experts = policy.local_tier.experts.filter((e) => e.kind === "model" && e.model === qwen.name);
const engine = await InferenceEngine.create({ resolveModel: () => qwen, threads, memoryBudgetBytes: 2 ** 31, maxConcurrent: 1, log: pino({ level: "warn" }) });
await engine.load(qwen.name);
console.log(`rescore-bench: Qwen2.5-Coder 0.5B, ${threads} thread(s), ${runs} runs per expert, question ${JSON.stringify(question)}`);
console.log("expert                        answer        prompt tok  worker generate+confidence  requester rescoring  ratio  same figure");
const ratios: number[] = [];
for (const expert of experts) {
  const task = expertTask(policy, { ...expert, sampling: { ...expert.sampling, temperature: 0 } }, { prompt: question, taskType: policy.default_task_type });
  const req = { model: qwen.name, prompt: task.prompt, maxTokens: task.maxTokens, sampling: task.sampling, ...(task.stop ? { stop: task.stop } : {}), confidence: true };
  const gen: number[] = [];
  const score: number[] = [];
  let same = true;
  let answer = "";
  let promptTokens = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await engine.generate(req);
    gen.push(performance.now() - t0);
    answer = r.text;
    promptTokens = r.promptTokens;
    const t1 = performance.now();
    const rescored = await engine.scoreAnswer(qwen.name, task.prompt, r.text, { endedByLength: r.finishReason === "length" });
    score.push(performance.now() - t1);
    if (rescored === undefined || r.confidence === undefined || Math.abs(rescored - r.confidence) > 1e-3) same = false;
  }
  const ratio = median(score) / median(gen);
  ratios.push(ratio);
  console.log(
    `${expert.name.padEnd(30)}${JSON.stringify(answer.slice(0, 10)).padEnd(14)}${String(promptTokens).padStart(10)}  ${`${median(gen).toFixed(0)} ms`.padStart(26)}  ${`${median(score).toFixed(0)} ms`.padStart(19)}  ${ratio.toFixed(2).padStart(5)}  ${same ? "yes" : "NO"}`,
  );
}
console.log(`rescoring / generation (median over experts): ${median(ratios).toFixed(2)}`);
await engine.dispose();
