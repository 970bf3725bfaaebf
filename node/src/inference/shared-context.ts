// A loaded model's requests as sequences of ONE context (the engine's `batching` on): node-llama-cpp
// puts the tokens every running sequence has queued into one llama.cpp batch per step, so N
// generations read the model's weights once per step instead of N times. That is what a GPU needs to
// give more than one request's tokens/s (decode there is bound by memory bandwidth and per-step
// overheads), and on the CPU it measured faster too once batches went in sequence-id order
// (batch-order.ts); `auto` uses it whenever more than one request may run at once (batching.ts).
//
// Each sequence has its own KV cells (node-llama-cpp sizes the context at contextSize × sequences and
// llama.cpp keeps one KV stream per sequence), and a generation's sequence is disposed when it ends,
// which erases its cells: nothing of one request reaches another. So no prompt is kept here for the
// next request of its scope (context-pool.ts does that), and rescoring on a generation context keeps
// no sequence either (every sequence is a generation slot): its sequence is disposed on release.
import type { LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { BatchOrder, type BatchOrderStats } from "./batch-order.ts";
import type { ContextPoolShape, GenerationContexts, KeptSequence, TakenContext } from "./context-pool.ts";
import { InferenceError } from "./inference-errors.ts";

export class SharedContext implements GenerationContexts {
  /** Takes not yet released (a generation's or a rescoring's sequence each). */
  #taken = 0;
  /** Rescoring sequences being disposed: a take waits for them, so their sequence ids are free again. */
  #disposing: Promise<void> = Promise.resolve();

  readonly #order: BatchOrder;

  private constructor(
    private readonly context: LlamaContext,
    order: BatchOrder,
    private readonly modelName: string,
  ) {
    this.#order = order;
  }

  /** The model's one context: a sequence per slot, each of contextSize, its batches made by batch-order.ts. */
  static async open(model: LlamaModel, shape: ContextPoolShape, modelName: string): Promise<SharedContext> {
    let shared: SharedContext | undefined;
    const order = new BatchOrder(() => (shared ? shared.#taken : 0));
    const context = await model.createContext({ contextSize: shape.contextSize, sequences: shape.slots, threads: shape.threads, batching: { itemPrioritizationStrategy: order.strategy } });
    order.attach(context);
    shared = new SharedContext(context, order, modelName);
    return shared;
  }

  /** Batches decoded so far, the sequences in them and llama.cpp's passes over them. */
  get batchStats(): BatchOrderStats | null {
    return { ...this.#order.stats };
  }

  get size(): number {
    return 1;
  }

  /** Sequences are not kept here (each is a generation slot): every take gets a fresh one. */
  async takeForGeneration(_prompt: readonly Token[], _scope: string | undefined): Promise<TakenContext> {
    return { context: await this.#takeEmpty(), kept: undefined };
  }

  async #takeEmpty(): Promise<LlamaContext> {
    await this.#disposing;
    // The engine's gate admits no more requests than the slots, so this holds; checked all the same,
    // as a clear error rather than node-llama-cpp's "no sequences left".
    if (this.#taken >= this.context.totalSequences) {
      throw new InferenceError("busy", `all ${this.context.totalSequences} sequences of model ${this.modelName}'s context are in use`, "retry when a request on this model has ended");
    }
    this.#taken++;
    return this.context;
  }

  async takeForRescoring(_head: readonly Token[]): Promise<TakenContext> {
    return { context: await this.#takeEmpty(), kept: undefined };
  }

  release(_context: LlamaContext, kept?: KeptSequence): void {
    if (!kept) {
      this.#taken--;
      return;
    }
    this.#disposing = this.#disposing
      .then(() => kept.sequence.dispose())
      .catch(() => {})
      .finally(() => void this.#taken--);
  }

  async dispose(): Promise<void> {
    await this.#disposing;
    await this.context.dispose().catch(() => {});
  }
}
