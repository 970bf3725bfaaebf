// What an InferenceEngine is created with, and the check that refuses nonsense before anything loads.
import { batchingPreferences, type BatchingPreference } from "@ripple-mesh/api-types";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { RegisteredModel } from "./inference-types.ts";
import type { OpenedLlama } from "./llama-backend.ts";
import type { LazyLlama } from "./lazy-llama.ts";

export interface InferenceEngineOptions {
  /** The registered model of a name; throws InferenceError "model_not_found" for an unknown one. */
  resolveModel: (name: string) => RegisteredModel;
  /** llama.cpp threads (getLlama maxThreads and every context); see freeCoreThreads(). */
  threads: number;
  /** Resident bytes all loaded models (file + context) may take together. */
  memoryBudgetBytes: number;
  /** Requests that run at once on this node (all models together); a model gets up to this many contexts. */
  maxConcurrent: number;
  /** Requests that may wait for a slot (default 4 × maxConcurrent). */
  maxQueued?: number;
  /** Tokens per request, prompt + generated (default 2048). */
  contextSize?: number;
  /**
   * llama.cpp on its backend (llama-backend.ts): already open, or a LazyLlama opened when a model
   * first loads (so a node that serves nothing never loads node-llama-cpp); default: the CPU,
   * opened on first load. The engine owns it (dispose() frees it).
   */
  opened?: OpenedLlama | LazyLlama;
  /** Layers offloaded per model on a GPU backend: as many as the VRAM budget holds, or at most N. */
  gpuLayers?: "auto" | number;
  /** VRAM all models may take together on a GPU backend (default: free VRAM at start less a margin). */
  gpuMemoryBudgetBytes?: number;
  log: Logger;
  /** Counts tokens and generating time per model (GET /metrics). */
  metrics?: Pick<NodeMetrics, "generated">;
  /** Unload a model after this long without requests (the compute policy's idle_unload_minutes); 0 or absent: never. */
  idleUnloadMs?: number;
  /** A model's concurrent requests in one shared context (on), a context each (off), or by backend (auto, the default; batching.ts). */
  batching?: BatchingPreference;
}

/** Throws RangeError naming the first option that is out of range. */
export function checkEngineOptions(opts: InferenceEngineOptions): void {
  const positive = (name: string, v: unknown, min = 1) => {
    if (!Number.isInteger(v) || (v as number) < min) throw new RangeError(`InferenceEngine: ${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  positive("threads", opts.threads);
  positive("maxConcurrent", opts.maxConcurrent);
  if (opts.maxQueued !== undefined) positive("maxQueued", opts.maxQueued, 0);
  if (opts.contextSize !== undefined) positive("contextSize", opts.contextSize, 64);
  if (typeof opts.memoryBudgetBytes !== "number" || !(opts.memoryBudgetBytes > 0)) throw new RangeError(`InferenceEngine: memoryBudgetBytes must be a positive number, got ${opts.memoryBudgetBytes}`);
  if (opts.gpuLayers !== undefined && opts.gpuLayers !== "auto") positive("gpuLayers", opts.gpuLayers, 0);
  if (opts.batching !== undefined && !batchingPreferences.includes(opts.batching)) throw new RangeError(`InferenceEngine: batching must be one of ${batchingPreferences.join(", ")}, got ${String(opts.batching)}`);
  if (opts.idleUnloadMs !== undefined && !(Number.isFinite(opts.idleUnloadMs) && opts.idleUnloadMs >= 0)) throw new RangeError(`InferenceEngine: idleUnloadMs must be a number >= 0, got ${opts.idleUnloadMs}`);
}
