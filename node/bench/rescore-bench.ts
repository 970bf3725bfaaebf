// `npx tsx node/bench/rescore-bench.ts`: what checking a worker's claimed confidence costs the
// requester (reducer.confidence on; slot-runner.ts checkedConfidence). Jobs as the shipped inference
// policy runs them on Qwen: for each question, every Qwen expert's worker generates its answer with
// its confidence (InferenceEngine.generate, confidence: true), then the requester rescores the
// job's answers one after another (InferenceEngine.scoreAnswer), twice side by side:
// - kept: as the engine does, on the model's rescoring context (rescoring-context.ts), whose
//   sequences each keep the prompt they scored, so an answer to a prompt that opens the same way
//   (same template, same system text and few-shot examples, or the same prompt from another expert)
//   evaluates only what differs; a worker's generation between rescorings does not clear them
//   (session 24's engine kept one prompt, on a generation context: 26% of prompt tokens reused);
// - cold: a second requester engine whose model is unloaded and loaded again before every
//   rescoring (untimed), so every rescoring evaluates its whole prompt, as before session 24.
// Printed: medians per rescoring, ÷ the worker's generation, and how many prompt tokens were reused;
// and the largest gap between a rescored figure and the worker's claim.
//
// Env: RIPPLE_BENCH_RUNS (questions, default 6), RIPPLE_BENCH_THREADS (default 1: what
// freeCoreThreads picks on this 2-core machine).
import { expertTask } from "../src/protocol/expert-task.ts";
import { loadedQwenEngine, median, policy, qwen, qwenExperts as experts } from "./qwen-experts.ts";

const threads = Number(process.env.RIPPLE_BENCH_THREADS ?? 1);
const questions = [
  "What is the capital of France?",
  "What is 7 times 6?",
  "Is a tomato a fruit or a vegetable?",
  "What colour is the sky on a clear day?",
  "How many legs does a spider have?",
  "What is the opposite of cold?",
  "Which planet is closest to the sun?",
  "What is 15 minus 8?",
].slice(0, Number(process.env.RIPPLE_BENCH_RUNS ?? 6));

const [worker, kept, cold] = [await loadedQwenEngine(threads), await loadedQwenEngine(threads), await loadedQwenEngine(threads)];
console.log(`rescore-bench: Qwen2.5-Coder 0.5B, ${threads} thread(s), ${questions.length} jobs of ${experts.length} experts (${experts.map((e) => e.name).join(", ")})`);

const generation: number[] = [];
const keptMs: number[] = [];
const coldMs: number[] = [];
let worstGap = 0;
for (const question of questions) {
  const answers = [];
  for (const expert of experts) {
    const task = expertTask(policy, expert, { prompt: question, taskType: policy.default_task_type });
    const req = { model: qwen.name, prompt: task.prompt, maxTokens: task.maxTokens, sampling: task.sampling, ...(task.stop ? { stop: task.stop } : {}), confidence: true };
    const t0 = performance.now();
    const r = await worker.generate(req);
    generation.push(performance.now() - t0);
    answers.push({ task, r });
  }
  for (const { task, r } of answers) {
    const opts = { endedByLength: r.finishReason === "length" };
    // A requester runs its own slots between rescorings: a generation on its model, untimed.
    await kept.generate({ model: qwen.name, prompt: { kind: "completion", text: "x" }, maxTokens: 1, sampling: { temperature: 0 } });
    let t = performance.now();
    const figure = await kept.scoreAnswer(qwen.name, task.prompt, r.text, opts);
    keptMs.push(performance.now() - t);
    await cold.unload(qwen.name);
    await cold.load(qwen.name);
    await cold.scoreAnswer(qwen.name, { kind: "completion", text: "x" }, "y", opts); // makes the rescoring context (untimed)
    t = performance.now();
    await cold.scoreAnswer(qwen.name, task.prompt, r.text, opts);
    coldMs.push(performance.now() - t);
    if (figure !== undefined && r.confidence !== undefined) worstGap = Math.max(worstGap, Math.abs(figure - r.confidence));
  }
}
const tokens = kept.loaded()[0]!.rescoredPromptTokens;
const gen = median(generation);
const row = (name: string, ms: number[]) => console.log(`${name.padEnd(34)}${`${median(ms).toFixed(0)} ms`.padStart(9)}  ${`${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} ms`.padStart(14)}  ${(median(ms) / gen).toFixed(2).padStart(6)}`);
console.log("per answer                          median           range  ÷ generation");
row("worker: generation + confidence", generation);
row("requester rescoring, cold", coldMs);
row("requester rescoring, prompt kept", keptMs);
console.log(`prompt tokens: ${tokens.reused} reused, ${tokens.evaluated} evaluated (${((100 * tokens.reused) / (tokens.reused + tokens.evaluated)).toFixed(0)}% reused)`);
console.log(`kept ÷ cold: ${(median(keptMs) / median(coldMs)).toFixed(2)}; largest |rescored − claimed|: ${worstGap.toFixed(4)}`);
for (const e of [worker, kept, cold]) await e.dispose();
