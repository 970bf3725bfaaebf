// What a model will take once loaded with the engine's context shape, read from its GGUF header
// once per file (node-llama-cpp's insights) and kept: resident RAM per GPU layer split, and the
// VRAM it needs on a GPU backend. A failed header read is not kept (the next ask reads again).
import { existsSync } from "node:fs";
import type { GgufInsights, Llama } from "node-llama-cpp";
import { sharedContextSequences } from "./batching.ts";
import type { GpuModelNeed } from "./gpu-budget.ts";
import { InferenceError } from "./inference-errors.ts";
import type { RegisteredModel } from "./inference-types.ts";
import type { LazyLlama } from "./lazy-llama.ts";
import { llamaModule } from "./llama-module.ts";

export interface ContextShape {
  /** Tokens one request may hold: prompt + generated. */
  contextSize: number;
  /** Requests that may run on this model at once (a context of one sequence each, or sequences of one shared context). */
  slots: number;
  threads: number;
  /** The slots are sequences of one context, decoded in one batch per step (batching.ts). */
  sharedContext: boolean;
}

/** node-llama-cpp's reading of a GGUF's header: the figures both memory budgets are computed from. */
export async function insightsOf(llama: Llama, model: RegisteredModel): Promise<GgufInsights> {
  if (!existsSync(model.file)) throw missingModelFile(model);
  try {
    const { GgufInsights, readGgufFileInfo } = await llamaModule();
    return await GgufInsights.from(await readGgufFileInfo(model.file, { readTensorInfo: true, logWarnings: false }), llama);
  } catch (cause) {
    throw new InferenceError("failed", `cannot read the GGUF header of model ${model.name} (${model.file}): ${(cause as Error).message}`, "check that the file is a complete GGUF file (re-run `npm run setup` for pinned models)", { cause });
  }
}

/**
 * node-llama-cpp's estimate of the model's generation contexts (KV cache, compute and output buffers):
 * one context of a sequence per slot, each with its own buffers, or (batching) one context of a
 * sequence per slot (4 with one slot, batching.ts), whose KV grows with the sequences but whose
 * compute and output buffers are one
 * (Qwen 0.5B, 8 slots of 2048 tokens: 2.72 GB as 8 contexts, 0.52 GB as one shared context).
 */
async function contextsEstimate(insights: GgufInsights, shape: Pick<ContextShape, "contextSize" | "slots" | "sharedContext">, gpuLayers: number): Promise<{ cpuRam: number; gpuVram: number }> {
  const sequences = shape.sharedContext ? sharedContextSequences(shape.slots) : 1;
  const one = await insights.estimateContextResourceRequirementsV2({ contextSize: shape.contextSize, sequences, modelGpuLayers: gpuLayers });
  const contexts = shape.sharedContext ? 1 : shape.slots;
  return { cpuRam: contexts * Math.ceil(one.cpuRam), gpuVram: contexts * one.gpuVram };
}

/**
 * Bytes of RAM a model may take once loaded with `gpuLayers` on the GPU: its file (weights are mmapped
 * and end up resident) plus its contexts' estimate. The estimate is an upper bound (it counts
 * buffers that are allocated but mostly never touched), which is the safe side for a budget.
 */
export async function estimateResidentBytes(insights: GgufInsights, model: RegisteredModel, shape: Pick<ContextShape, "contextSize" | "slots" | "sharedContext">, gpuLayers = 0): Promise<number> {
  return model.bytes + (await contextsEstimate(insights, shape, gpuLayers)).cpuRam;
}

/** What the VRAM budget needs to know of a model (gpu-budget.ts): its layers and its VRAM fully offloaded. */
export async function estimateGpuNeed(insights: GgufInsights, model: RegisteredModel, shape: Pick<ContextShape, "contextSize" | "slots" | "sharedContext">): Promise<GpuModelNeed> {
  const totalLayers = insights.totalLayers;
  const weights = await insights.estimateModelResourceRequirementsV2({ gpuLayers: totalLayers });
  const contexts = await contextsEstimate(insights, shape, totalLayers);
  return { name: model.name, totalLayers, fullVramBytes: Math.ceil(weights.gpuVram + contexts.gpuVram) };
}

/** The contexts a model's estimate counts, in words: "4 sequences of 2048 tokens in one context", "2 contexts of 2048 tokens". */
export function describeContexts(shape: Pick<ContextShape, "contextSize" | "slots" | "sharedContext">): string {
  if (shape.sharedContext) return `${sharedContextSequences(shape.slots)} sequences of ${shape.contextSize} tokens in one context`;
  return `${shape.slots} context${shape.slots === 1 ? "" : "s"} of ${shape.contextSize} tokens`;
}

export function missingModelFile(model: RegisteredModel): InferenceError {
  return new InferenceError("model_not_found", `model ${model.name} is registered but its file ${model.file} does not exist`, "re-run `npm run setup` or register the model again");
}


export class ModelSizing {
  readonly #ramBytes = new Map<string, number>();
  readonly #gpuNeeds = new Map<string, GpuModelNeed>();
  readonly #insights = new Map<string, Promise<GgufInsights>>();

  constructor(
    private readonly llama: LazyLlama,
    private readonly shape: ContextShape,
  ) {}

  /** Resident bytes (file + a context per slot) with `gpuLayers` of its layers on the GPU. */
  async ramBytes(registered: RegisteredModel, gpuLayers = 0): Promise<number> {
    const key = `${registered.file}\0${registered.bytes}\0${gpuLayers}`;
    let bytes = this.#ramBytes.get(key);
    if (bytes === undefined) {
      bytes = await estimateResidentBytes(await this.#insightsOf(registered), registered, this.shape, gpuLayers);
      this.#ramBytes.set(key, bytes);
    }
    return bytes;
  }

  /** VRAM per layer and for the contexts, for the GPU budget (gpu-budget.ts). */
  async gpuNeed(registered: RegisteredModel): Promise<GpuModelNeed> {
    let need = this.#gpuNeeds.get(registered.file);
    if (!need) {
      need = await estimateGpuNeed(await this.#insightsOf(registered), registered, this.shape);
      this.#gpuNeeds.set(registered.file, need);
    }
    return need;
  }

  #insightsOf(registered: RegisteredModel): Promise<GgufInsights> {
    const key = `${registered.file}\0${registered.bytes}`;
    let insights = this.#insights.get(key);
    if (!insights) {
      insights = this.llama.get().then((llama) => insightsOf(llama, registered));
      this.#insights.set(key, insights);
      insights.catch(() => this.#insights.delete(key));
    }
    return insights;
  }
}
