// The local inference seam: GGUF models on node-llama-cpp, behind generate(). One lifecycle owner
// (the daemon) creates it with explicit threads and a memory budget, and disposes it.
//
// - Models load on first use. Before a load, the least-recently-used idle models are unloaded until
//   file + contexts fit the budget; a model that alone exceeds the budget is InferenceError "over_limit";
//   one that would fit once busy models finish is "busy" (retryable, unlike over_limit).
// - Contexts are kept and reused (`batching`, batching.ts; loaded-model.ts has the figures): one
//   context per model whose sequences decode in one batch per step (auto), or a context per request
//   (off). A request's prompt may be kept for the next request of its requester (its prompt-reuse
//   scope), never for another's; a request without a scope gets a fresh sequence.
// - At most `maxConcurrent` requests run at once on the node (all models together); up to `maxQueued`
//   (default 4 × maxConcurrent) wait in FIFO order; beyond that, "busy" at once. Confidence checks
//   (scoreAnswer) have a lane of their own beside them, one at a time.
// - Abort (the request's signal, or dispose()): generate resolves with finishReason "aborted" and the
//   text generated so far (empty when the request was still queued); it never throws for an abort.
//   The request's slot is free for the next request in every case (an aborted sequence is disposed).
// - unload(name) refuses with "busy" while the model serves requests (abort them, or wait for them).
// - retire(name) (its registration went away or changed): new requests no longer get the loaded copy;
//   it is freed now if idle, else when its last request ends, and counts against the budget till then.
// - Idle unload (idleUnloadMs > 0): a model that has served no request for that long is unloaded, so
//   an idle node gives its RAM back; one serving requests is never unloaded this way (its timer starts
//   again when its last request ends). The next request loads it again.
import type { BatchingStatus, InferenceStatus } from "@ripple-mesh/api-types";
import { resolveBatching } from "./batching.ts";
import { ConcurrencyGate } from "./concurrency-gate.ts";
import { autoGpuBudgetBytes } from "./gpu-budget.ts";
import { InferenceError } from "./inference-errors.ts";
import type { GenerateRequest, GenerateResult, RegisteredModel } from "./inference-types.ts";
import { cpuOffChoice, type BackendChoice } from "./llama-backend.ts";
import { LazyLlama } from "./lazy-llama.ts";
import type { LoadedModel } from "./loaded-model.ts";
import type { ContextShape } from "./model-sizing.ts";
import { ModelSizing } from "./model-sizing.ts";
import { checkGenerateRequest } from "./request-check.ts";
import { checkEngineOptions, type InferenceEngineOptions } from "./engine-options.ts";
import { linkSignals } from "../linked-signal.ts";
import { ResidentModels, type LoadedModelInfo } from "./resident-models.ts";

export { freeCoreThreads } from "./thread-budget.ts";
export type { InferenceEngineOptions, LoadedModelInfo };


export type { InferenceStatus };

export const defaultContextSize = 2048;

export class InferenceEngine {
  /** The loaded models within the budgets: loads, evictions, idle unloads, retirement. */
  readonly #resident: ResidentModels;
  readonly #sizing: ModelSizing;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #shutdown = new AbortController();
  readonly #gate: ConcurrencyGate;
  /** Confidence checks on rescoring contexts: one at a time, beside the generations (scoreAnswer). */
  readonly #rescoringLane: ConcurrencyGate;
  readonly #shape: ContextShape;
  readonly #batching: BatchingStatus;
  #disposed = false;

  private constructor(
    private readonly llama: LazyLlama,
    /** The backend that serves, and why (llama-backend.ts). */
    readonly backend: BackendChoice,
    /** VRAM models may take on a GPU backend (0 on the CPU). */
    readonly gpuBudgetBytes: number,
    private readonly opts: InferenceEngineOptions,
  ) {
    this.#batching = resolveBatching(opts.batching ?? "auto", opts.maxConcurrent);
    this.#shape = { contextSize: opts.contextSize ?? defaultContextSize, slots: opts.maxConcurrent, threads: opts.threads, sharedContext: this.#batching.mode === "shared-context" };
    this.#gate = new ConcurrencyGate(opts.maxConcurrent, opts.maxQueued ?? 4 * opts.maxConcurrent);
    this.#rescoringLane = new ConcurrencyGate(1, opts.maxQueued ?? 4 * opts.maxConcurrent);
    this.#sizing = new ModelSizing(llama, this.#shape);
    this.#resident = new ResidentModels({ llama, backend, gpuBudgetBytes, shape: this.#shape, sizing: this.#sizing, opts, closed: () => (this.#disposed ? this.#disposedError() : undefined) });
  }

  static async create(opts: InferenceEngineOptions): Promise<InferenceEngine> {
    checkEngineOptions(opts);
    const llama = opts.opened instanceof LazyLlama ? opts.opened : opts.opened ? LazyLlama.opened(opts.opened) : LazyLlama.forChoice(cpuOffChoice, opts.threads);
    const { choice } = llama;
    const gpuBudgetBytes = choice.gpu ? (opts.gpuMemoryBudgetBytes ?? autoGpuBudgetBytes(choice.gpu.vramFreeBytes)) : 0;
    opts.log.info(
      { backend: choice.backend, batching: opts.batching ?? "auto", threads: opts.threads, maxConcurrent: opts.maxConcurrent, memoryBudgetBytes: opts.memoryBudgetBytes, gpuBudgetBytes, contextSize: opts.contextSize ?? defaultContextSize },
      "inference engine ready",
    );
    return new InferenceEngine(llama, choice, gpuBudgetBytes, opts);
  }

  /** Whether llama.cpp (and so node-llama-cpp) has been opened: not until a model first loads. */
  get llamaOpened(): boolean {
    return this.llama.opened;
  }

  get threads(): number {
    return this.#shape.threads;
  }

  get contextSize(): number {
    return this.#shape.contextSize;
  }

  /** The backend, why, and the budgets this engine runs with (`ripple status`, the UI's Node page). */
  describe(): InferenceStatus {
    return {
      ...this.backend,
      threads: this.#shape.threads,
      maxConcurrent: this.#gate.limit,
      memoryBudgetBytes: this.opts.memoryBudgetBytes,
      gpuMemoryBudgetBytes: this.gpuBudgetBytes,
      batching: this.#batching,
    };
  }

  /** Requests running and waiting now, with their limits. */
  queueState(): { running: number; queued: number; maxConcurrent: number; maxQueued: number } {
    return { running: this.#gate.running, queued: this.#gate.queued, maxConcurrent: this.#gate.limit, maxQueued: this.#gate.maxQueued };
  }

  loaded(): LoadedModelInfo[] {
    return this.#resident.loaded();
  }

  /** Estimated bytes of a model once loaded here (file + maxConcurrent contexts of this engine's shape). */
  async estimateBytes(name: string): Promise<number> {
    this.#assertOpen();
    return this.#sizing.ramBytes(this.#resolve(name));
  }

  generate(req: GenerateRequest): Promise<GenerateResult> {
    const run = this.#generate(req);
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run)).catch(() => {});
    return run;
  }

  async #generate(req: GenerateRequest): Promise<GenerateResult> {
    const startedAt = performance.now();
    this.#assertOpen();
    checkGenerateRequest(req);
    const registered = this.#resolve(req.model);
    // The engine's shutdown lives as long as the engine: linked, not AbortSignal.any (linked-signal.ts).
    const link = linkSignals(req.signal, this.#shutdown.signal);
    try {
      return await this.#generateWith(req, registered, link.signal, startedAt);
    } finally {
      link.dispose();
    }
  }

  async #generateWith(req: GenerateRequest, registered: RegisteredModel, signal: AbortSignal, startedAt: number): Promise<GenerateResult> {
    const aborted = (): GenerateResult => ({
      text: "",
      tokens: 0,
      promptTokens: 0,
      latencyMs: performance.now() - startedAt,
      firstTokenMs: null,
      model: { name: registered.name, sha256: registered.sha256 },
      finishReason: "aborted",
    });
    if (signal.aborted) return aborted();

    let release: () => void;
    try {
      // Takes a slot or a place in line synchronously, before this function first awaits.
      release = await this.#gate.acquire(signal);
    } catch (err) {
      if (signal.aborted) return aborted();
      throw err;
    }
    let model: LoadedModel | undefined;
    try {
      // Resolved again now that it runs: a registration changed while it queued is the one it gets.
      model = await this.#resident.acquire(this.#resolve(registered.name));
      if (signal.aborted) return aborted();
      req.onStart?.();
      const generating = performance.now();
      const result = await model.run(req, signal, startedAt);
      this.opts.metrics?.generated(registered.name, result.tokens, (performance.now() - generating) / 1000);
      return result;
    } finally {
      if (model) this.#resident.release(model);
      release();
    }
  }

  /** Loads a model now (subject to the budget), or finds it loaded. */
  async load(name: string): Promise<LoadedModelInfo> {
    this.#assertOpen();
    const model = await this.#resident.acquire(this.#resolve(name));
    this.#resident.release(model);
    return this.loaded().find((m) => m.name === model.name && !m.retired)!;
  }

  /**
   * The prompt's token count with `name`'s own tokenizer and chat template, as a generation counts it
   * (loading the model if needed, within the budget; no generation slot is taken).
   */
  async countPromptTokens(name: string, prompt: GenerateRequest["prompt"]): Promise<number> {
    return this.#withModel(name, async (model) => model.countPromptTokens(prompt));
  }

  /**
   * The model's own confidence in a given answer (LoadedModel.scoreOnRescoringContext): how a
   * requester checks the confidence a peer claims for its answer. A check runs in a lane of its own,
   * one at a time, on the model's rescoring context, beside the generations rather than queued
   * behind them: a requester checks the answers that arrive while its own slot still generates
   * (briefly one context's threads beyond the generation slots). One too long for that context
   * takes a generation slot like a request (waits in line).
   */
  async scoreAnswer(name: string, prompt: GenerateRequest["prompt"], answer: string, opts: { endedByLength: boolean; signal?: AbortSignal }): Promise<number | undefined> {
    const link = linkSignals(opts.signal, this.#shutdown.signal);
    try {
      const inLane = await this.#withModel(name, (model) => model.scoreOnRescoringContext(prompt, answer, opts.endedByLength), link.signal, this.#rescoringLane);
      if (inLane !== "too long") return inLane;
      return await this.#withModel(name, (model) => model.scoreOnGenerationContext(prompt, answer, opts.endedByLength), link.signal);
    } finally {
      link.dispose();
    }
  }

  /**
   * Runs `use` on the loaded model (loading it within the budget), holding a slot of `gate` (the
   * generation slots unless told) when `slotSignal` is given; counted in flight, so dispose() waits for it before freeing models.
   */
  #withModel<T>(name: string, use: (model: LoadedModel) => Promise<T>, slotSignal?: AbortSignal, gate = this.#gate): Promise<T> {
    this.#assertOpen();
    this.#resolve(name); // an unknown name fails before waiting in line
    const run = (async () => {
      const release = slotSignal ? await gate.acquire(slotSignal) : () => {};
      let model: LoadedModel | undefined;
      try {
        model = await this.#resident.acquire(this.#resolve(name));
        return await use(model);
      } finally {
        if (model) this.#resident.release(model);
        release();
      }
    })();
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run)).catch(() => {});
    return run;
  }

  /** Unloads an idle model; refuses with "busy" while it serves requests. False if it was not loaded. */
  async unload(name: string): Promise<boolean> {
    this.#assertOpen();
    return this.#resident.unload(name);
  }

  /** Takes a loaded model out of service (its registration went away or changed): see ResidentModels.retire. */
  async retire(name: string): Promise<"freed" | "freed-when-idle" | "not-loaded"> {
    this.#assertOpen();
    return this.#resident.retire(name);
  }

  /** Ends every request (queued: refused; running: aborted), then frees every model and llama.cpp. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#gate.close(this.#disposedError());
    this.#rescoringLane.close(this.#disposedError());
    this.#shutdown.abort(new Error("inference engine disposed"));
    this.#resident.stopIdleTimers();
    await Promise.allSettled([...this.#inFlight]);
    await this.#resident.unloadAll();
    await this.llama.dispose();
    this.opts.log.info("inference engine disposed");
  }

  #assertOpen(): void {
    if (this.#disposed) throw this.#disposedError();
  }

  #disposedError(): InferenceError {
    return new InferenceError("failed", "the inference engine has been disposed (the node is stopping)", "create a new InferenceEngine, or restart the node");
  }

  #resolve(name: string): RegisteredModel {
    try {
      return this.opts.resolveModel(name);
    } catch (err) {
      if (err instanceof InferenceError) throw err;
      throw new InferenceError("model_not_found", `model ${name} cannot be resolved: ${(err as Error).message}`, "register the model (see `ripple models`) or use another name", { cause: err });
    }
  }
}


