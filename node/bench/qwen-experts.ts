// What the single-model inference benches (rescore-bench, prompt-reuse-bench) share: the pinned Qwen
// model, the shipped inference policy and its Qwen experts, a one-slot engine on it, loaded, and the
// median they report.
import { join } from "node:path";
import type { BatchingPreference } from "@ripple-mesh/api-types";
import { pino } from "pino";
import { modelsDir, versionsFile } from "../src/config/paths.mjs";
import { loadVersions } from "../src/config/toolchain.ts";
import { loadInferencePolicy } from "../src/config/inference-policy.ts";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { RegisteredModel } from "../src/inference/inference-types.ts";

const pinned = loadVersions(versionsFile).models.default;
export const qwen: RegisteredModel = { name: pinned.name, file: join(modelsDir(), pinned.file), sha256: pinned.sha256, bytes: pinned.bytes };
export const policy = loadInferencePolicy();
/** The shipped policy's experts that run on Qwen. */
export const qwenExperts = policy.local_tier.experts.filter((e) => e.kind === "model" && e.model === qwen.name);

export const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** An engine of one slot on Qwen (as `max_concurrent: auto` on a CPU), with the model loaded. */
export async function loadedQwenEngine(threads: number, batching: BatchingPreference = "auto"): Promise<InferenceEngine> {
  const engine = await InferenceEngine.create({ resolveModel: () => qwen, threads, memoryBudgetBytes: 2 ** 31, maxConcurrent: 1, batching, log: pino({ level: "warn" }) });
  await engine.load(qwen.name);
  return engine;
}
