// Everything inference needs at node level, started once per `ripple up` and kept across mesh
// switches: the model store (what this node serves), the engine (what is loaded, threads, memory
// budget, concurrency) and the two policies (what it runs for others, how it runs MOE jobs).
import { statSync } from "node:fs";
import type { ModelRef } from "@ripple-mesh/zome-bindings";
import { modelsDir as defaultModelsDir } from "../config/paths.mjs";
import type { GpuPreference, LocalModel, ModelsRescan } from "@ripple-mesh/api-types";
import { computePolicyFileFor, loadComputePolicy, type ComputePolicy } from "../config/compute-policy.ts";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { loadInferencePolicy, type InferencePolicy } from "../config/inference-policy.ts";
import { freeCoreThreads, InferenceEngine, type InferenceEngineOptions } from "./inference-engine.ts";
import { InferenceError } from "./inference-errors.ts";
import type { ChatMessage } from "./inference-types.ts";
import { openLlama } from "./llama-backend.ts";
import { LazyLlama } from "./lazy-llama.ts";
import { resolveBudgets, type ResolvedBudgets } from "./machine-budgets.ts";
import { ModelStore, modelRefs } from "./model-store.ts";
import { recordModelsDir } from "./models-dir-file.ts";

export interface NodeInferenceOptions {
  dataDir: string;
  log: Logger;
  modelsDir?: string;
  computePolicyFile?: string;
  inferencePolicyFile?: string;
  /** This node's metrics (the engine counts tokens and generating time). */
  metrics?: NodeMetrics;
  /**
   * Chooses the backend for the policy's inference.gpu: the daemon's runs the start-up probe in a
   * child process and opens llama.cpp only when a model first loads; default: opened here, now.
   */
  chooseBackend?: (gpu: GpuPreference, threads: number) => Promise<LazyLlama>;
}

export class NodeInference {
  private constructor(
    readonly store: ModelStore,
    readonly engine: InferenceEngine,
    private readonly computePolicyFile: LiveComputePolicy,
    readonly inferencePolicy: InferencePolicy,
    private readonly log: Logger,
  ) {}

  /** The compute policy as of now: edits to its file apply to the next job without a restart. */
  get computePolicy(): ComputePolicy {
    return this.computePolicyFile.current();
  }

  static async start(opts: NodeInferenceOptions): Promise<NodeInference> {
    const { log } = opts;
    // Policies first: a typo in either fails the start before anything heavy happens.
    const live = new LiveComputePolicy(opts.dataDir, opts.computePolicyFile, log);
    const computePolicy = live.current();
    const inferencePolicy = loadInferencePolicy(opts.inferencePolicyFile);
    const store = await ModelStore.open({ dataDir: opts.dataDir, modelsDir: opts.modelsDir ?? defaultModelsDir(), log });
    recordModelsDir(opts.dataDir, store.modelsDir);
    const { inference } = computePolicy;
    const threads = inference.threads === "auto" ? freeCoreThreads() : inference.threads;
    const chooseBackend = opts.chooseBackend ?? (async (gpu: GpuPreference, n: number) => LazyLlama.opened(await openLlama(gpu, n, log)));
    const opened = await chooseBackend(inference.gpu, threads);
    const { engine, budgets } = await policyEngine({ inference, threads, llama: opened, resolveModel: (name) => store.get(name), log, ...(opts.metrics ? { metrics: opts.metrics } : {}) });
    log.info(
      { step: "inference", computePolicy: live.file, models: store.list().map((m) => m.name), backend: opened.choice.backend, threads, ...budgets },
      "inference ready",
    );
    return new NodeInference(store, engine, live, inferencePolicy, log);
  }

  /** The models this node serves, as advertised in its capability. */
  modelRefs(): ModelRef[] {
    return modelRefs(this.store);
  }

  localModels(): LocalModel[] {
    const loaded = new Set(this.engine.loaded().filter((m) => !m.retired).map((m) => m.name));
    return this.store.list().map((m) => ({ name: m.name, sha256: m.sha256, bytes: m.bytes, file: m.file, loaded: loaded.has(m.name) }));
  }

  /**
   * The messages' token count with `model`'s tokenizer and chat template (only a model this node
   * holds: counting with another model's tokenizer would be a guess).
   */
  async countTokens(model: string, messages: ChatMessage[]): Promise<number> {
    if (!this.store.has(model)) {
      throw new InferenceError(
        "model_not_found",
        `model "${model}" is not on this node: tokens are counted with the model's own tokenizer, so only the models this node holds are counted`,
        `pull it (\`ripple models pull ${model}\`), or ask a node that serves it; this node holds: ${this.store.list().map((m) => m.name).join(", ") || "none"}`,
      );
    }
    return this.engine.countPromptTokens(model, { kind: "chat", messages });
  }

  /** The model ripple-moe's tokens are counted with: the first of the policy's experts' models this node holds. */
  moeCountingModel(): string | undefined {
    return this.inferencePolicy.local_tier.experts.map((e) => e.model).find((m) => this.store.has(m));
  }

  async loadModel(name: string): Promise<LocalModel> {
    await this.engine.load(name);
    return this.localModel(name);
  }

  async unloadModel(name: string): Promise<LocalModel> {
    this.store.get(name); // unknown name → model_not_found, not a silent "was not loaded"
    await this.engine.unload(name);
    return this.localModel(name);
  }

  /** Unregister `name` (its file is kept) and free its loaded copy once its requests end. */
  async unregisterModel(name: string): Promise<void> {
    await this.store.remove(name);
    this.retireInBackground([name]);
  }

  private localModel(name: string): LocalModel {
    const m = this.localModels().find((x) => x.name === name);
    if (!m) throw new InferenceError("model_not_found", `no model named ${name}`, "see `ripple models list`");
    return m;
  }

  /**
   * Serve what models.json registers now: models added are served at once, and the loaded copy of a
   * model removed or re-registered to another file is freed (once its requests end). The caller
   * re-advertises the capability.
   */
  async rescanModels(): Promise<Omit<ModelsRescan, "advertised">> {
    const diff = await this.store.rescan();
    // In the background: a retire waits behind any model load under way, and the old copies serve
    // no new request meanwhile (the engine checks each request's file against the loaded copy).
    this.retireInBackground([...diff.removed, ...diff.changed]);
    return { ...diff, models: this.localModels() };
  }

  private retireInBackground(names: string[]): void {
    for (const name of names) {
      void this.engine.retire(name).catch((err: unknown) => this.log.warn({ model: name, err: (err as Error).message }, "could not free the loaded copy of an unregistered model"));
    }
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
  }
}

export interface PolicyEngineInput {
  inference: ComputePolicy["inference"];
  threads: number;
  llama: LazyLlama;
  resolveModel: InferenceEngineOptions["resolveModel"];
  log: Logger;
  metrics?: NodeMetrics;
}

/** The engine the compute policy describes on this machine: budgets resolved for the chosen backend (also the GPU run's engine, node/bench/gpu-kit-entry.ts). */
export async function policyEngine({ inference, threads, llama, resolveModel, log, metrics }: PolicyEngineInput): Promise<{ engine: InferenceEngine; budgets: ResolvedBudgets }> {
  const budgets = await resolveBudgets(inference, llama.choice);
  const engine = await InferenceEngine.create({
    resolveModel,
    threads,
    memoryBudgetBytes: budgets.memoryBudgetBytes,
    maxConcurrent: budgets.maxConcurrent,
    maxQueued: inference.max_queue,
    opened: llama,
    gpuLayers: inference.gpu_layers,
    gpuMemoryBudgetBytes: budgets.gpuMemoryBudgetBytes,
    idleUnloadMs: inference.idle_unload_minutes * 60_000,
    batching: inference.batching,
    log,
    ...(metrics ? { metrics } : {}),
  });
  return { engine, budgets };
}

/**
 * The compute policy file, re-read when it changes (by path or mtime). A broken edit is logged and
 * the last good policy stays in force, so a typo cannot open the node up or stop it serving.
 */
class LiveComputePolicy {
  private loaded: { file: string; mtimeMs: number; policy: ComputePolicy } | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly explicit: string | undefined,
    private readonly log: Logger,
  ) {}

  get file(): string {
    return computePolicyFileFor(this.dataDir, this.explicit);
  }

  current(): ComputePolicy {
    const file = this.file;
    const mtimeMs = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    if (this.loaded && this.loaded.file === file && this.loaded.mtimeMs === mtimeMs) return this.loaded.policy;
    try {
      const policy = loadComputePolicy(file);
      if (this.loaded) this.log.info({ file }, "compute policy changed; applying it to new jobs");
      this.loaded = { file, mtimeMs, policy };
    } catch (err) {
      if (!this.loaded) throw err;
      this.log.error({ err: (err as Error).message, file }, "the edited compute policy is invalid; keeping the previous one");
    }
    return this.loaded.policy;
  }
}
