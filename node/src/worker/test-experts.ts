// Test-only expert kinds: a worker honours them only when RIPPLE_TEST_EXPERTS=1 (see worker-policy.ts).
// "garbage" answers deterministic noise, to show that the reducer outvotes a broken expert.
import type { GenerateResult } from "../inference/inference-types.ts";
import type { ExpertTask } from "../protocol/expert-task.ts";

const SYLLABLES = ["zq", "xv", "qwer", "##", "blorp", "vzk", "~~", "plx", "gnar", "0x7f"];

export function garbageAnswer(task: ExpertTask): GenerateResult {
  let seed = (task.sampling.seed ?? 1) >>> 0;
  const words: string[] = [];
  for (let i = 0; i < 6; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    words.push(SYLLABLES[seed % SYLLABLES.length]!);
  }
  const text = words.join(" ");
  return { text, tokens: words.length, promptTokens: 0, latencyMs: 1, firstTokenMs: 1, model: { name: "garbage", sha256: "0".repeat(64) }, finishReason: "stop" };
}
