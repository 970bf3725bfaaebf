// `npx tsx node/bench/prompt-reuse-bench.ts`: what keeping generations' prompts for the next request
// of the same requester (GenerateRequest.promptReuseScope) saves a worker, three ways side by side on
// Qwen 0.5B, one slot (`max_concurrent: auto` on a CPU), each request alone:
// - kept ×4: `batching: auto`, a context of KEPT_PROMPT_SEQUENCES sequences keeping one prompt each
//   (shared-context.ts);
// - kept ×1: `batching: off`, a context of one sequence keeping the last prompt (context-pool.ts);
// - whole: `batching: off` and no scope, every prompt evaluated whole (as before prompts were kept).
// Workloads:
// - MOE: the shipped policy's Qwen experts answering a question each, job after job (their templates
//   take turns on the slot);
// - chat: one conversation of a few turns through the model's chat template, each turn sending the
//   whole history again (what an OpenAI-compatible client does);
// - long: one answer of 256 tokens, nothing to reuse: what a context of several sequences costs a
//   lone decode.
// Printed: medians of the request latency and of the first token, ratios to whole, the prompt tokens
// reused, and the long answer's tok/s. Env: RIPPLE_BENCH_RUNS (questions and turns, default 5),
// RIPPLE_BENCH_THREADS (default 1: what freeCoreThreads picks on this 2-core machine).
import { KEPT_PROMPT_SEQUENCES } from "../src/inference/batching.ts";
import type { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { ChatMessage, GenerateRequest, GenerateResult } from "../src/inference/inference-types.ts";
import { expertTask } from "../src/protocol/expert-task.ts";
import { loadedQwenEngine, median, policy, qwen, qwenExperts as experts } from "./qwen-experts.ts";

const threads = Number(process.env.RIPPLE_BENCH_THREADS ?? 1);
const runs = Number(process.env.RIPPLE_BENCH_RUNS ?? 5);
const questions = ["What is the capital of France?", "What is 7 times 6?", "Is a tomato a fruit or a vegetable?", "How many legs does a spider have?", "Which planet is closest to the sun?", "What is 15 minus 8?"].slice(0, runs);
const turns = ["Name three fruits.", "Which of them is the sweetest?", "How is it usually eaten?", "Give one recipe that uses it.", "How long does that take to make?", "Thanks. Summarise our talk in one line."].slice(0, runs);

interface Way {
  name: string;
  engine: InferenceEngine;
  scoped: boolean;
  latency: number[];
  first: number[];
}
const way = async (name: string, batching: "auto" | "off", scoped: boolean): Promise<Way> => ({ name, engine: await loadedQwenEngine(threads, batching), scoped, latency: [], first: [] });
const ways = [await way(`kept ×${KEPT_PROMPT_SEQUENCES}`, "auto", true), await way("kept ×1", "off", true), await way("whole", "off", false)];
console.log(`prompt-reuse-bench: Qwen2.5-Coder 0.5B, ${threads} thread(s), one slot; MOE: ${questions.length} jobs of ${experts.length} experts; chat: ${turns.length} turns; long: 256 tokens`);

const promptTokens = () => ways.map((w) => ({ ...w.engine.loaded()[0]!.generationPromptTokens }));
const reset = () => ways.forEach((w) => ((w.latency = []), (w.first = [])));
/** The same request on every way, one after the other; the first way's answer is returned. */
async function each(req: GenerateRequest): Promise<GenerateResult> {
  const results: GenerateResult[] = [];
  for (const w of ways) {
    const r = await w.engine.generate(w.scoped ? { ...req, promptReuseScope: "requester" } : req);
    w.latency.push(r.latencyMs);
    w.first.push(r.firstTokenMs ?? r.latencyMs);
    results.push(r);
  }
  return results[0]!;
}
function report(workload: string, before: ReturnType<typeof promptTokens>) {
  const after = promptTokens();
  const whole = ways.at(-1)!;
  const parts = ways.slice(0, -1).map((w, i) => {
    const reused = after[i]!.reused - before[i]!.reused;
    const all = reused + after[i]!.evaluated - before[i]!.evaluated;
    return `${w.name}: ${median(w.latency).toFixed(0)} ms (÷ ${(median(w.latency) / median(whole.latency)).toFixed(2)}), first token ${median(w.first).toFixed(0)} ms (÷ ${(median(w.first) / median(whole.first)).toFixed(2)}), ${((100 * reused) / Math.max(1, all)).toFixed(0)}% of prompt tokens reused`;
  });
  console.log(`${workload.padEnd(5)} latency, median: whole ${median(whole.latency).toFixed(0)} ms, first token ${median(whole.first).toFixed(0)} ms; ${parts.join("; ")}`);
  reset();
}

let before = promptTokens();
for (const question of questions) {
  for (const expert of experts) {
    const task = expertTask(policy, expert, { prompt: question, taskType: policy.default_task_type });
    await each({ model: qwen.name, prompt: task.prompt, maxTokens: task.maxTokens, sampling: task.sampling, ...(task.stop ? { stop: task.stop } : {}), confidence: true });
  }
}
report("MOE", before);

before = promptTokens();
const history: ChatMessage[] = [{ role: "system", content: "You are a helpful assistant who answers briefly." }];
for (const turn of turns) {
  history.push({ role: "user", content: turn });
  const r = await each({ model: qwen.name, prompt: { kind: "chat", messages: [...history] }, maxTokens: 48, sampling: { temperature: 0 } });
  history.push({ role: "assistant", content: r.text });
}
report("chat", before);

const long: string[] = [];
for (const w of ways.slice(0, 2)) {
  const tps: number[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await w.engine.generate({ model: qwen.name, prompt: { kind: "completion", text: `Story ${i}: once upon a time` }, maxTokens: 256, sampling: { temperature: 0 }, stop: [] });
    tps.push((1000 * r.tokens) / (r.latencyMs - (r.firstTokenMs ?? 0)));
  }
  long.push(`${w.name} ${Math.max(...tps).toFixed(1)} tok/s`);
}
console.log(`long  decode of 256 tokens, best of 2: ${long.join(", ")}`);
for (const w of ways) await w.engine.dispose();
