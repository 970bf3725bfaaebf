// The local inference seam: GGUF models on node-llama-cpp, behind generate(). One lifecycle owner
// (the daemon) creates it with explicit threads and a memory budget, and disposes it.
//
// - Models load on first use. Before a load, the least-recently-used idle models are unloaded until
//   file + contexts fit the budget; a model that alone exceeds the budget is InferenceError "over_limit";
//   one that would fit once busy models finish is "busy" (retryable, unlike over_limit).
// - Contexts are kept and reused (one sequence each, see loaded-model.ts for why and the figures);
//   every request gets a fresh sequence, so no state passes from one request to the next.
// - At most `maxConcurrent` requests run at once on the node (all models together); up to `maxQueued`
//   (default 4 × maxConcurrent) wait in FIFO order; beyond that, "busy" at once.
// - Abort (the request's signal, or dispose()): generate resolves with finishReason "aborted" and the
//   text generated so far (empty when the request was still queued); it never throws for an abort.
//   The request's sequence is disposed in every case, so its slot is free for the next request.
// - unload(name) refuses with "busy" while the model serves requests (abort them, or wait for them).
// - retire(name) (its registration went away or changed): new requests no longer get the loaded copy;
//   it is freed now if idle, else when its last request ends, and counts against the budget till then.
// - Idle unload (idleUnloadMs > 0): a model that has served no request for that long is unloaded, so
//   an idle node gives its RAM back; one serving requests is never unloaded this way (its timer starts
//   again when its last request ends). The next request loads it again.
import type { InferenceStatus } from "@ripple-mesh/api-types";
import { ConcurrencyGate } from "./concurrency-gate.ts";
import { autoGpuBudgetBytes, planGpuLoad, type GpuPlan } from "./gpu-budget.ts";
import { InferenceError } from "./inference-errors.ts";
import type { GenerateRequest, GenerateResult, RegisteredModel } from "./inference-types.ts";
import { cpuOffChoice, type BackendChoice } from "./llama-backend.ts";
import { LazyLlama } from "./lazy-llama.ts";
import { LoadedModel, type ContextShape } from "./loaded-model.ts";
import { ModelSizing } from "./model-sizing.ts";
import { checkGenerateRequest } from "./request-check.ts";
import { checkEngineOptions, type InferenceEngineOptions } from "./engine-options.ts";
import { linkSignals } from "../linked-signal.ts";

export { freeCoreThreads } from "./thread-budget.ts";
export type { InferenceEngineOptions };

export interface LoadedModelInfo {
  name: string;
  sha256: string;
  /** Estimated bytes: file + a context per slot (an upper bound). */
  bytes: number;
  /** Layers on the GPU (0 on the CPU backend) and their estimated VRAM. */
  gpuLayers: number;
  vramBytes: number;
  lastUsedMs: number;
  busy: boolean;
}

export type { InferenceStatus };

export const defaultContextSize = 2048;

export class InferenceEngine {
  readonly #models = new Map<string, LoadedModel>();
  /** Loads in progress, so concurrent first requests for one model share one load. */
  readonly #loading = new Map<string, Promise<LoadedModel>>();
  /** Serializes loads, unloads and evictions so that the budget's arithmetic holds. */
  #lock: Promise<unknown> = Promise.resolve();
  readonly #sizing: ModelSizing;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #shutdown = new AbortController();
  /** Per loaded model, the timer that unloads it once idle for idleUnloadMs. */
  readonly #idleTimers = new Map<string, NodeJS.Timeout>();
  /** Retired models still serving requests: out of #models, freed by the release of their last request. */
  readonly #retired = new Set<LoadedModel>();
  readonly #gate: ConcurrencyGate;
  readonly #shape: ContextShape;
  #disposed = false;

  private constructor(
    private readonly llama: LazyLlama,
    /** The backend that serves, and why (llama-backend.ts). */
    readonly backend: BackendChoice,
    /** VRAM models may take on a GPU backend (0 on the CPU). */
    readonly gpuBudgetBytes: number,
    private readonly opts: InferenceEngineOptions,
  ) {
    this.#shape = { contextSize: opts.contextSize ?? defaultContextSize, slots: opts.maxConcurrent, threads: opts.threads };
    this.#gate = new ConcurrencyGate(opts.maxConcurrent, opts.maxQueued ?? 4 * opts.maxConcurrent);
    this.#sizing = new ModelSizing(llama, this.#shape);
  }

  static async create(opts: InferenceEngineOptions): Promise<InferenceEngine> {
    checkEngineOptions(opts);
    const llama = opts.opened instanceof LazyLlama ? opts.opened : opts.opened ? LazyLlama.opened(opts.opened) : LazyLlama.forChoice(cpuOffChoice, opts.threads);
    const { choice } = llama;
    const gpuBudgetBytes = choice.gpu ? (opts.gpuMemoryBudgetBytes ?? autoGpuBudgetBytes(choice.gpu.vramFreeBytes)) : 0;
    opts.log.info(
      { backend: choice.backend, threads: opts.threads, maxConcurrent: opts.maxConcurrent, memoryBudgetBytes: opts.memoryBudgetBytes, gpuBudgetBytes, contextSize: opts.contextSize ?? defaultContextSize },
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
    };
  }

  /** Requests running and waiting now, with their limits. */
  queueState(): { running: number; queued: number; maxConcurrent: number; maxQueued: number } {
    return { running: this.#gate.running, queued: this.#gate.queued, maxConcurrent: this.#gate.limit, maxQueued: this.#gate.maxQueued };
  }

  loaded(): LoadedModelInfo[] {
    return [...this.#models.values()].map((m) => ({
      name: m.name,
      sha256: m.registered.sha256,
      bytes: m.bytes,
      gpuLayers: m.budget.gpuLayers,
      vramBytes: m.budget.vramBytes,
      lastUsedMs: m.lastUsedMs,
      busy: m.active > 0,
    }));
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
      model = await this.#acquireModel(registered);
      if (signal.aborted) return aborted();
      req.onStart?.();
      const generating = performance.now();
      const result = await model.run(req, signal, startedAt);
      this.opts.metrics?.generated(registered.name, result.tokens, (performance.now() - generating) / 1000);
      return result;
    } finally {
      if (model) this.#release(model);
      release();
    }
  }

  /** Loads a model now (subject to the budget), or finds it loaded. */
  async load(name: string): Promise<LoadedModelInfo> {
    this.#assertOpen();
    const model = await this.#acquireModel(this.#resolve(name));
    this.#release(model);
    return this.loaded().find((m) => m.name === model.name)!;
  }

  /**
   * The prompt's token count with `name`'s own tokenizer and chat template, as a generation counts it
   * (loading the model if needed, within the budget; no generation slot is taken).
   */
  async countPromptTokens(name: string, prompt: GenerateRequest["prompt"]): Promise<number> {
    return this.#withModel(name, async (model) => model.countPromptTokens(prompt));
  }

  /**
   * The model's own confidence in a given answer (LoadedModel.scoreAnswer): how a requester checks the
   * confidence a peer claims for its answer. Takes a generation slot like a request (waits in line).
   */
  async scoreAnswer(name: string, prompt: GenerateRequest["prompt"], answer: string, opts: { endedByLength: boolean; signal?: AbortSignal }): Promise<number | undefined> {
    const link = linkSignals(opts.signal, this.#shutdown.signal);
    try {
      return await this.#withModel(name, (model) => model.scoreAnswer(prompt, answer, opts.endedByLength), link.signal);
    } finally {
      link.dispose();
    }
  }

  /** Runs `use` on the loaded model (loading it within the budget), holding a generation slot when `slotSignal` is given. */
  async #withModel<T>(name: string, use: (model: LoadedModel) => Promise<T>, slotSignal?: AbortSignal): Promise<T> {
    this.#assertOpen();
    const registered = this.#resolve(name);
    const release = slotSignal ? await this.#gate.acquire(slotSignal) : () => {};
    let model: LoadedModel | undefined;
    try {
      model = await this.#acquireModel(registered);
      return await use(model);
    } finally {
      if (model) this.#release(model);
      release();
    }
  }

  /** Unloads an idle model; refuses with "busy" while it serves requests. False if it was not loaded. */
  async unload(name: string): Promise<boolean> {
    this.#assertOpen();
    return this.#locked(async () => {
      const model = this.#models.get(name);
      if (!model) return false;
      if (model.active > 0) {
        throw new InferenceError("busy", `model ${name} is serving ${model.active} request(s) and cannot be unloaded now`, "wait for them to finish (or abort them) and unload again");
      }
      await this.#unloadNow(model, "unload");
      return true;
    });
  }

  /**
   * Takes a loaded model out of service (models.json no longer registers it, or registers another
   * file under its name): freed now when idle, else when its last request ends. "not-loaded" when
   * there was nothing to free.
   */
  async retire(name: string): Promise<"freed" | "freed-when-idle" | "not-loaded"> {
    this.#assertOpen();
    return this.#locked(async () => {
      const model = this.#models.get(name);
      if (!model) return "not-loaded";
      if (model.active === 0) {
        await this.#unloadNow(model, "unregistered or replaced");
        return "freed";
      }
      this.#models.delete(name);
      clearTimeout(this.#idleTimers.get(name));
      this.#idleTimers.delete(name);
      this.#retired.add(model);
      return "freed-when-idle";
    });
  }

  /** Ends every request (queued: refused; running: aborted), then frees every model and llama.cpp. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#gate.close(this.#disposedError());
    this.#shutdown.abort(new Error("inference engine disposed"));
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
    await Promise.allSettled([...this.#inFlight]);
    await this.#locked(async () => {
      for (const model of [...this.#models.values()]) await this.#unloadNow(model, "dispose");
    });
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

  /** The loaded model, marked busy (active + 1) before anything can evict it. */
  async #acquireModel(registered: RegisteredModel): Promise<LoadedModel> {
    const ready = this.#models.get(registered.name);
    if (ready) {
      ready.active++;
      return ready;
    }
    let loading = this.#loading.get(registered.name);
    if (!loading) {
      loading = this.#locked(() => this.#loadNow(registered)).finally(() => this.#loading.delete(registered.name));
      this.#loading.set(registered.name, loading);
    }
    const model = await loading;
    if (this.#models.get(registered.name) !== model) return this.#acquireModel(registered); // unloaded meanwhile
    model.active++;
    return model;
  }

  async #loadNow(registered: RegisteredModel): Promise<LoadedModel> {
    this.#assertOpen();
    const existing = this.#models.get(registered.name);
    if (existing) return existing;
    // The GPU share first: it decides how much of the model stays in RAM.
    const gpu = await this.#planGpu(registered);
    for (const name of gpu.evict) {
      const victim = this.#models.get(name);
      if (victim && victim.active === 0) await this.#unloadNow(victim, `evicted from the GPU for ${registered.name}`);
    }
    const need = await this.#sizing.ramBytes(registered, gpu.gpuLayers);
    const budget = this.opts.memoryBudgetBytes;
    if (need > budget) {
      throw new InferenceError(
        "over_limit",
        `model ${registered.name} needs ~${mib(need)} (file ${mib(registered.bytes)} + contexts ${mib(need - registered.bytes)} for ${this.#shape.slots} × ${this.#shape.contextSize} tokens) but the inference memory budget is ${mib(budget)}`,
        "raise the node's inference memory budget, or lower its context size or max concurrent requests, or use a smaller model",
      );
    }
    // Least recently used idle models go first, until the new one fits. Chosen afresh each time: a
    // model may have taken a request while the previous one was being freed.
    while (this.#used() + need > budget) {
      const victim = [...this.#models.values()].filter((m) => m.active === 0).sort((a, b) => a.lastUsedMs - b.lastUsedMs)[0];
      if (!victim) break;
      await this.#unloadNow(victim, `evicted for ${registered.name}`);
    }
    if (this.#used() + need > budget) {
      const busy = [...this.#models.values()].map((m) => `${m.name} ${mib(m.bytes)}`).join(", ");
      throw new InferenceError(
        "busy",
        `model ${registered.name} needs ~${mib(need)} but busy models hold ${mib(this.#used())} of the ${mib(budget)} budget (${busy})`,
        "retry when their requests finish, or raise the node's inference memory budget",
      );
    }
    const t0 = performance.now();
    const model = await LoadedModel.load(await this.llama.get(), registered, { ramBytes: need, gpuLayers: gpu.gpuLayers, vramBytes: gpu.vramBytes }, this.#shape, this.opts.log);
    if (this.#disposed) {
      await model.dispose();
      throw this.#disposedError();
    }
    this.#models.set(registered.name, model);
    this.opts.log.info(
      { model: registered.name, bytes: need, backend: this.backend.backend, gpuLayers: gpu.gpuLayers, vramBytes: gpu.vramBytes, gpu: gpu.reason, ms: Math.round(performance.now() - t0), chatWrapper: model.chatWrapperName },
      "inference: model loaded",
    );
    return model;
  }

  /** How many of the model's layers go to the GPU (none on the CPU backend), and what to unload first. */
  async #planGpu(registered: RegisteredModel): Promise<GpuPlan> {
    if (!this.backend.gpu) return { gpuLayers: 0, vramBytes: 0, evict: [], reason: "CPU backend" };
    const need = await this.#sizing.gpuNeed(registered);
    const vram = await (await this.llama.get()).getVramState();
    return planGpuLoad({
      need,
      budgetBytes: this.gpuBudgetBytes,
      cardFreeBytes: vram.free,
      // Retired models hold their VRAM until their last request ends: busy, never evicted.
      resident: [...this.#models.values(), ...this.#retired].filter((m) => m.budget.gpuLayers > 0).map((m) => ({ name: m.name, vramBytes: m.budget.vramBytes, lastUsedMs: m.lastUsedMs, busy: m.active > 0 || this.#retired.has(m) })),
      maxLayers: this.opts.gpuLayers ?? "auto",
    });
  }

  /** A request (or load()) is done with the model: it counts as used now, and idle once none is left. */
  #release(model: LoadedModel): void {
    model.active--;
    model.lastUsedMs = Date.now();
    if (model.active > 0) return;
    if (this.#retired.delete(model)) void this.#locked(() => this.#freeRetired(model));
    else this.#scheduleIdleUnload(model, this.opts.idleUnloadMs ?? 0);
  }

  async #freeRetired(model: LoadedModel): Promise<void> {
    await model.dispose().catch((err: unknown) => this.opts.log.warn({ model: model.name, err: (err as Error).message }, "inference: freeing a retired model failed"));
    this.opts.log.info({ model: model.name, bytes: model.bytes, why: "unregistered or replaced" }, "inference: model unloaded");
  }

  #scheduleIdleUnload(model: LoadedModel, afterMs: number): void {
    if (!this.opts.idleUnloadMs || this.#disposed) return;
    clearTimeout(this.#idleTimers.get(model.name));
    const timer = setTimeout(() => void this.#unloadIfIdle(model).catch((err: unknown) => this.opts.log.warn({ model: model.name, err: (err as Error).message }, "inference: idle unload failed")), afterMs);
    timer.unref(); // an idle timer never keeps the process alive
    this.#idleTimers.set(model.name, timer);
  }

  /** Unloads the model if it is still loaded, serves nothing and was last used idleUnloadMs ago or more. */
  async #unloadIfIdle(model: LoadedModel): Promise<void> {
    const idleMs = this.opts.idleUnloadMs ?? 0;
    await this.#locked(async () => {
      if (this.#disposed || this.#models.get(model.name) !== model || model.active > 0) return; // gone, or busy: its release reschedules
      const idleFor = Date.now() - model.lastUsedMs;
      if (idleFor < idleMs) return this.#scheduleIdleUnload(model, idleMs - idleFor);
      await this.#unloadNow(model, `idle for ${Math.round(idleFor / 1000)} s (idle_unload_minutes)`);
    });
  }

  async #unloadNow(model: LoadedModel, why: string): Promise<void> {
    // Removed from the map first (synchronously), so no new request can take it while it is freed.
    this.#models.delete(model.name);
    clearTimeout(this.#idleTimers.get(model.name));
    this.#idleTimers.delete(model.name);
    await model.dispose();
    this.opts.log.info({ model: model.name, bytes: model.bytes, why }, "inference: model unloaded");
  }

  #used(): number {
    let sum = 0;
    for (const m of this.#models.values()) sum += m.bytes;
    for (const m of this.#retired) sum += m.bytes;
    return sum;
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
