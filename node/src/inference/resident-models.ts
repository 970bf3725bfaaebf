// The models an engine holds in memory, within its budgets (inference-engine.ts owns one): loads
// (one at a time, concurrent first requests sharing one), least-recently-used eviction of idle
// models when a new one needs the room (RAM, and VRAM on a GPU backend), unloading a model idle for
// idleUnloadMs, unloading on request, and retirement (a model whose registration went away or
// changed is out of service at once and freed when its last request ends, counted until then).
// A model in use is marked busy (`active`) before anything can evict it.
import { planGpuLoad, type GpuPlan } from "./gpu-budget.ts";
import { InferenceError } from "./inference-errors.ts";
import type { RegisteredModel } from "./inference-types.ts";
import type { BatchOrderStats } from "./batch-order.ts";
import type { BackendChoice } from "./llama-backend.ts";
import type { LazyLlama } from "./lazy-llama.ts";
import { LoadedModel } from "./loaded-model.ts";
import type { ContextShape } from "./model-sizing.ts";
import type { ModelSizing } from "./model-sizing.ts";
import { describeContexts } from "./model-sizing.ts";
import type { InferenceEngineOptions } from "./engine-options.ts";

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
  /** Taken out of service (its registration went away or changed), still held until its last request ends. */
  retired: boolean;
  /** Prompt tokens this node's rescoring of peers' answers found already evaluated, and those it evaluated. */
  rescoredPromptTokens: { reused: number; evaluated: number };
  /** Prompt tokens generations found already evaluated (kept under their prompt-reuse scope), and those they evaluated. */
  generationPromptTokens: { reused: number; evaluated: number };
  /** Generation contexts made so far (one shared by every slot when batching, else up to one per slot). */
  contexts: number;
  /** The shared context's batches (batching on; batch-order.ts): how many, their sequences, llama.cpp's passes. Null with a context per request. */
  batches: BatchOrderStats | null;
}

export interface ResidentModelsDeps {
  llama: LazyLlama;
  backend: BackendChoice;
  /** VRAM models may take on a GPU backend (0 on the CPU). */
  gpuBudgetBytes: number;
  shape: ContextShape;
  sizing: ModelSizing;
  opts: Pick<InferenceEngineOptions, "memoryBudgetBytes" | "gpuLayers" | "idleUnloadMs" | "log">;
  /** The engine's "disposed" error once it is, else undefined: nothing loads after that. */
  closed: () => InferenceError | undefined;
}

export class ResidentModels {
  readonly #models = new Map<string, LoadedModel>();
  /** Loads in progress, so concurrent first requests for one model share one load. */
  readonly #loading = new Map<string, Promise<LoadedModel>>();
  /** Serializes loads, unloads and evictions so that the budget's arithmetic holds. */
  #lock: Promise<unknown> = Promise.resolve();
  /** Per loaded model, the timer that unloads it once idle for idleUnloadMs. */
  readonly #idleTimers = new Map<string, NodeJS.Timeout>();
  /** Retired models still serving requests: out of #models, freed by the release of their last request. */
  readonly #retired = new Set<LoadedModel>();

  constructor(private readonly deps: ResidentModelsDeps) {}

  /** The engine is being disposed: no idle unload fires from now on. */
  stopIdleTimers(): void {
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
  }

  /** Frees every loaded model, retired ones too (the engine's dispose, once its requests have ended). */
  async unloadAll(): Promise<void> {
    await this.#locked(async () => {
      for (const model of [...this.#models.values()]) await this.#unloadNow(model, "dispose");
      for (const model of [...this.#retired]) {
        this.#retired.delete(model);
        await this.#freeRetired(model);
      }
    });
  }

  #throwIfClosed(): void {
    const closed = this.deps.closed();
    if (closed) throw closed;
  }

  /** Every copy in memory: those in service, then retired ones still finishing requests (memory is memory). */
  loaded(): LoadedModelInfo[] {
    const info = (m: LoadedModel, retired: boolean): LoadedModelInfo => ({
      name: m.name,
      sha256: m.registered.sha256,
      bytes: m.bytes,
      gpuLayers: m.budget.gpuLayers,
      vramBytes: m.budget.vramBytes,
      lastUsedMs: m.lastUsedMs,
      busy: m.active > 0,
      retired,
      rescoredPromptTokens: m.rescoredPromptTokens,
      generationPromptTokens: m.generationPromptTokens,
      contexts: m.contexts,
      batches: m.batchStats,
    });
    return [...[...this.#models.values()].map((m) => info(m, false)), ...[...this.#retired].map((m) => info(m, true))];
  }

  /** Unloads an idle model; refuses with "busy" while it serves requests. False if it was not loaded. */
  async unload(name: string): Promise<boolean> {
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
    return this.#locked(async () => {
      const model = this.#models.get(name);
      return model ? this.#retireNow(model) : "not-loaded";
    });
  }

  /** Out of service now (off the map); freed now when idle, else by the release of its last request. Under the lock. */
  async #retireNow(model: LoadedModel): Promise<"freed" | "freed-when-idle"> {
    if (model.active === 0) {
      await this.#unloadNow(model, "unregistered or replaced");
      return "freed";
    }
    if (this.#models.get(model.name) === model) this.#models.delete(model.name);
    clearTimeout(this.#idleTimers.get(model.name));
    this.#idleTimers.delete(model.name);
    this.#retired.add(model);
    return "freed-when-idle";
  }

  /**
   * The loaded model, marked busy (active + 1) before anything can evict it. A copy loaded from
   * another file under the same name (its registration changed since) is retired first, so a request
   * always runs on the file it resolved, and a stale copy never serves the new registration.
   */
  async acquire(registered: RegisteredModel): Promise<LoadedModel> {
    const ready = this.#models.get(registered.name);
    if (ready && sameFile(ready.registered, registered)) {
      ready.active++;
      return ready;
    }
    if (ready) {
      await this.#locked(async () => {
        if (this.#models.get(registered.name) === ready) await this.#retireNow(ready);
      });
      return this.acquire(registered);
    }
    let loading = this.#loading.get(registered.name);
    if (!loading) {
      loading = this.#locked(() => this.#loadNow(registered)).finally(() => this.#loading.delete(registered.name));
      this.#loading.set(registered.name, loading);
    }
    const model = await loading;
    // Unloaded meanwhile, or a load of another file under this name: look again.
    if (this.#models.get(registered.name) !== model || !sameFile(model.registered, registered)) return this.acquire(registered);
    model.active++;
    return model;
  }

  async #loadNow(registered: RegisteredModel): Promise<LoadedModel> {
    this.#throwIfClosed();
    const existing = this.#models.get(registered.name);
    if (existing) return existing;
    // The GPU share first: it decides how much of the model stays in RAM.
    const gpu = await this.#planGpu(registered);
    for (const name of gpu.evict) {
      const victim = this.#models.get(name);
      if (victim && victim.active === 0) await this.#unloadNow(victim, `evicted from the GPU for ${registered.name}`);
    }
    const need = await this.deps.sizing.ramBytes(registered, gpu.gpuLayers);
    const budget = this.deps.opts.memoryBudgetBytes;
    if (need > budget) {
      throw new InferenceError(
        "over_limit",
        `model ${registered.name} needs ~${mib(need)} (file ${mib(registered.bytes)} + contexts ${mib(need - registered.bytes)} for ${describeContexts(this.deps.shape)}) but the inference memory budget is ${mib(budget)}`,
        `raise the node's inference memory budget, or lower its context size or max concurrent requests${this.deps.shape.sharedContext && this.deps.shape.slots === 1 ? " (with one, `batching: off` keeps one prompt instead of 4)" : ""}, or use a smaller model`,
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
    const model = await LoadedModel.load(await this.deps.llama.get(), registered, { ramBytes: need, gpuLayers: gpu.gpuLayers, vramBytes: gpu.vramBytes }, this.deps.shape, this.deps.opts.log);
    const closed = this.deps.closed();
    if (closed) {
      await model.dispose();
      throw closed;
    }
    this.#models.set(registered.name, model);
    this.deps.opts.log.info(
      { model: registered.name, bytes: need, backend: this.deps.backend.backend, gpuLayers: gpu.gpuLayers, vramBytes: gpu.vramBytes, gpu: gpu.reason, ms: Math.round(performance.now() - t0), chatWrapper: model.chatWrapperName },
      "inference: model loaded",
    );
    return model;
  }

  /** How many of the model's layers go to the GPU (none on the CPU backend), and what to unload first. */
  async #planGpu(registered: RegisteredModel): Promise<GpuPlan> {
    if (!this.deps.backend.gpu) return { gpuLayers: 0, vramBytes: 0, evict: [], reason: "CPU backend" };
    const need = await this.deps.sizing.gpuNeed(registered);
    const vram = await (await this.deps.llama.get()).getVramState();
    return planGpuLoad({
      need,
      budgetBytes: this.deps.gpuBudgetBytes,
      cardFreeBytes: vram.free,
      // Retired models hold their VRAM until their last request ends: busy, never evicted.
      resident: [...this.#models.values(), ...this.#retired].filter((m) => m.budget.gpuLayers > 0).map((m) => ({ name: m.name, vramBytes: m.budget.vramBytes, lastUsedMs: m.lastUsedMs, busy: m.active > 0 || this.#retired.has(m) })),
      maxLayers: this.deps.opts.gpuLayers ?? "auto",
    });
  }

  /** A request (or load()) is done with the model: it counts as used now, and idle once none is left. */
  release(model: LoadedModel): void {
    model.active--;
    model.lastUsedMs = Date.now();
    if (model.active > 0) return;
    if (this.#retired.delete(model)) void this.#locked(() => this.#freeRetired(model));
    else this.#scheduleIdleUnload(model, this.deps.opts.idleUnloadMs ?? 0);
  }

  async #freeRetired(model: LoadedModel): Promise<void> {
    await model.dispose().catch((err: unknown) => this.deps.opts.log.warn({ model: model.name, err: (err as Error).message }, "inference: freeing a retired model failed"));
    this.deps.opts.log.info({ model: model.name, bytes: model.bytes, why: "unregistered or replaced" }, "inference: model unloaded");
  }

  #scheduleIdleUnload(model: LoadedModel, afterMs: number): void {
    if (!this.deps.opts.idleUnloadMs || this.deps.closed()) return;
    clearTimeout(this.#idleTimers.get(model.name));
    const timer = setTimeout(() => void this.#unloadIfIdle(model).catch((err: unknown) => this.deps.opts.log.warn({ model: model.name, err: (err as Error).message }, "inference: idle unload failed")), afterMs);
    timer.unref(); // an idle timer never keeps the process alive
    this.#idleTimers.set(model.name, timer);
  }

  /** Unloads the model if it is still loaded, serves nothing and was last used idleUnloadMs ago or more. */
  async #unloadIfIdle(model: LoadedModel): Promise<void> {
    const idleMs = this.deps.opts.idleUnloadMs ?? 0;
    await this.#locked(async () => {
      if (this.deps.closed() || this.#models.get(model.name) !== model || model.active > 0) return; // gone, or busy: its release reschedules
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
    this.deps.opts.log.info({ model: model.name, bytes: model.bytes, why }, "inference: model unloaded");
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

/** The same file: the registration a loaded copy came from and the one a request resolved. */
const sameFile = (a: RegisteredModel, b: RegisteredModel) => a.sha256 === b.sha256 && a.file === b.file;

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
