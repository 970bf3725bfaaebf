// `npx tsx node/bench/prompt-reuse-bench.ts`: what keeping a generation's prompt for the next request
// of the same requester (GenerateRequest.promptReuseScope, context-pool.ts) saves a worker, side by
// side with the same requests and no scope (every prompt evaluated whole, as before). Two workloads on
// Qwen 0.5B, one slot (`max_concurrent: auto` on a CPU), each request alone:
// - MOE: the shipped policy's Qwen experts answering a question each, job after job (one context, so
//   the templates take turns on it);
// - chat: one conversation of a few turns through the model's chat template, each turn sending the
//   whole history again (what an OpenAI-compatible client does).
// Printed: medians of the request latency and of the first token, ratios, and the prompt tokens
// reused. Env: RIPPLE_BENCH_RUNS (questions and turns, default 5), RIPPLE_BENCH_THREADS (default 1:
// what freeCoreThreads picks on this 2-core machine).
import type { ChatMessage, GenerateRequest, GenerateResult } from "../src/inference/inference-types.ts";
import { expertTask } from "../src/protocol/expert-task.ts";
import { loadedQwenEngine, median, policy, qwen, qwenExperts as experts } from "./qwen-experts.ts";

const threads = Number(process.env.RIPPLE_BENCH_THREADS ?? 1);
const runs = Number(process.env.RIPPLE_BENCH_RUNS ?? 5);
const questions = ["What is the capital of France?", "What is 7 times 6?", "Is a tomato a fruit or a vegetable?", "How many legs does a spider have?", "Which planet is closest to the sun?", "What is 15 minus 8?"].slice(0, runs);
const turns = ["Name three fruits.", "Which of them is the sweetest?", "How is it usually eaten?", "Give one recipe that uses it.", "How long does that take to make?", "Thanks. Summarise our talk in one line."].slice(0, runs);

const [reusing, whole] = [await loadedQwenEngine(threads), await loadedQwenEngine(threads)];
console.log(`prompt-reuse-bench: Qwen2.5-Coder 0.5B, ${threads} thread(s), one slot; MOE: ${questions.length} jobs of ${experts.length} experts; chat: ${turns.length} turns`);

type Timing = { latency: number[]; first: number[] };
const timings = () => ({ reusing: { latency: [], first: [] } as Timing, whole: { latency: [], first: [] } as Timing });
const record = (t: Timing, r: GenerateResult) => {
  t.latency.push(r.latencyMs);
  t.first.push(r.firstTokenMs ?? r.latencyMs);
};
/** The same request on both engines, one after the other; the reusing engine's answer is returned. */
async function both(t: ReturnType<typeof timings>, req: GenerateRequest): Promise<GenerateResult> {
  const r = await reusing.generate({ ...req, promptReuseScope: "requester" });
  record(t.reusing, r);
  record(t.whole, await whole.generate(req));
  return r;
}

const moe = timings();
for (const question of questions) {
  for (const expert of experts) {
    const task = expertTask(policy, expert, { prompt: question, taskType: policy.default_task_type });
    await both(moe, { model: qwen.name, prompt: task.prompt, maxTokens: task.maxTokens, sampling: task.sampling, ...(task.stop ? { stop: task.stop } : {}), confidence: true });
  }
}
const moeTokens = reusing.loaded()[0]!.generationPromptTokens;

const chat = timings();
const history: ChatMessage[] = [{ role: "system", content: "You are a helpful assistant who answers briefly." }];
for (const turn of turns) {
  history.push({ role: "user", content: turn });
  const r = await both(chat, { model: qwen.name, prompt: { kind: "chat", messages: [...history] }, maxTokens: 48, sampling: { temperature: 0 } });
  history.push({ role: "assistant", content: r.text });
}
const allTokens = reusing.loaded()[0]!.generationPromptTokens;
const chatTokens = { reused: allTokens.reused - moeTokens.reused, evaluated: allTokens.evaluated - moeTokens.evaluated };

const share = (t: { reused: number; evaluated: number }) => `${t.reused} of ${t.reused + t.evaluated} prompt tokens reused (${((100 * t.reused) / Math.max(1, t.reused + t.evaluated)).toFixed(0)}%)`;
const line = (name: string, t: ReturnType<typeof timings>, tokens: { reused: number; evaluated: number }) => {
  const [lr, lw, fr, fw] = [median(t.reusing.latency), median(t.whole.latency), median(t.reusing.first), median(t.whole.first)];
  console.log(`${name.padEnd(6)} latency ${lr.toFixed(0)} ms reusing vs ${lw.toFixed(0)} ms whole (÷ ${(lr / lw).toFixed(2)}); first token ${fr.toFixed(0)} vs ${fw.toFixed(0)} ms (÷ ${(fr / fw).toFixed(2)}); ${share(tokens)}`);
};
line("MOE", moe, moeTokens);
line("chat", chat, chatTokens);
for (const e of [reusing, whole]) await e.dispose();
