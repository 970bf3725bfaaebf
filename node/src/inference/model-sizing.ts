// What a model will take once loaded with the engine's context shape, read from its GGUF header
// once per file (node-llama-cpp's insights) and kept: resident RAM per GPU layer split, and the
// VRAM it needs on a GPU backend. A failed header read is not kept (the next ask reads again).
import type { GgufInsights } from "node-llama-cpp";
import type { GpuModelNeed } from "./gpu-budget.ts";
import type { RegisteredModel } from "./inference-types.ts";
import type { LazyLlama } from "./lazy-llama.ts";
import { estimateGpuNeed, estimateResidentBytes, insightsOf, type ContextShape } from "./loaded-model.ts";

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
