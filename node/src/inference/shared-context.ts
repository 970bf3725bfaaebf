// A loaded model's requests as sequences of ONE context (the engine's `batching`, batching.ts):
// node-llama-cpp puts the tokens every running sequence has queued into one llama.cpp batch per step,
// so N generations read the model's weights once per step instead of N times. That is what a GPU needs
// to give more than one request's tokens/s (decode there is bound by memory bandwidth and per-step
// overheads), and on the CPU it measured faster too once batches went in sequence-id order
// (batch-order.ts).
//
// Each sequence has its own KV cells (node-llama-cpp sizes the context at contextSize × sequences and
// llama.cpp keeps one KV stream per sequence); a sequence disposed, or taken fresh, holds nothing of
// another request.
//
// Kept prompts (one slot only): with a single request at a time the context has KEPT_PROMPT_SEQUENCES
// sequences (batching.ts), and a generation's sequence stays when it ends, holding its prompt and
// answer, under the request's prompt-reuse scope. The next take of the same scope continues the kept
// sequence that holds the longest start of its prompt (node-llama-cpp evaluates only from the first
// token that differs); a take without such a sequence gets a free one, the least recently kept being
// disposed when none is free. So an MOE worker keeps one prompt per expert template, where a context of
// one sequence kept only the last (prompt-reuse-bench). A sequence kept for one scope is never handed to
// another: disposing it clears its cells, as context-pool.ts does. With more than one slot nothing is
// kept: a kept sequence pins its id, and ids that are not consecutive split every step into passes
// (batch-order.ts), which costs more than a prompt saves.
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { BatchOrder, type BatchOrderStats } from "./batch-order.ts";
import { sharedContextSequences } from "./batching.ts";
import { RESCORING_SCOPE, type ContextPoolShape, type GenerationContexts, type KeptSequence, type TakenContext } from "./context-pool.ts";
import { InferenceError } from "./inference-errors.ts";

/**
 * Prompt tokens a kept sequence must share with a new prompt to be continued rather than a free one
 * taken: below this, what it saves (a few ms of evaluation) is worth less than the kept prompt it
 * overwrites (templates that differ share only their chat header, 3-8 tokens).
 */
export const MIN_CONTINUED_TOKENS = 16;

export class SharedContext implements GenerationContexts {
  /** Takes not yet released (a generation's or a rescoring's sequence each). */
  #taken = 0;
  /** Sequences being disposed (more than one slot): a take waits for them, so their sequence ids are free again. */
  #disposing: Promise<void> = Promise.resolve();
  /** Idle sequences holding a prompt, least recently kept first (one slot only). */
  readonly #kept: KeptSequence[] = [];

  readonly #order: BatchOrder;

  private constructor(
    private readonly context: LlamaContext,
    order: BatchOrder,
    private readonly slots: number,
    private readonly modelName: string,
  ) {
    this.#order = order;
  }

  /** The model's one context, its batches made by batch-order.ts: a sequence per slot (more with one slot, to keep prompts), each of contextSize. */
  static async open(model: LlamaModel, shape: ContextPoolShape, modelName: string): Promise<SharedContext> {
    let shared: SharedContext | undefined;
    const order = new BatchOrder(() => (shared ? shared.#taken : 0));
    const context = await model.createContext({ contextSize: shape.contextSize, sequences: sharedContextSequences(shape.slots), threads: shape.threads, batching: { itemPrioritizationStrategy: order.strategy } });
    order.attach(context);
    shared = new SharedContext(context, order, shape.slots, modelName);
    return shared;
  }

  /** Batches decoded so far, the sequences in them and llama.cpp's passes over them. */
  get batchStats(): BatchOrderStats | null {
    return { ...this.#order.stats };
  }

  get size(): number {
    return 1;
  }

  get tokensPerSequence(): number {
    return this.context.contextSize;
  }

  get #keepsPrompts(): boolean {
    return this.slots === 1;
  }

  takeForGeneration(prompt: readonly Token[], scope: string | undefined): Promise<TakenContext> {
    return this.#take(prompt, scope);
  }

  takeForRescoring(head: readonly Token[]): Promise<TakenContext> {
    return this.#take(head, RESCORING_SCOPE);
  }

  async #take(prompt: readonly Token[], scope: string | undefined): Promise<TakenContext> {
    await this.#disposing;
    // The engine's gate admits no more requests than the slots, so this holds; checked all the same,
    // as a clear error rather than node-llama-cpp's "no sequences left".
    if (this.#taken >= this.slots) throw this.#busy();
    this.#taken++;
    try {
      const kept = scope === undefined ? undefined : this.#continuable(prompt, scope);
      return { context: this.context, sequence: kept ?? (await this.#freeSequence()) };
    } catch (err) {
      this.#taken--;
      throw err;
    }
  }

  /** The kept sequence of `scope` sharing the longest start with `prompt` (at least MIN_CONTINUED_TOKENS), taken off the kept list. */
  #continuable(prompt: readonly Token[], scope: string): LlamaContextSequence | undefined {
    let best = -1;
    let bestShared = MIN_CONTINUED_TOKENS - 1;
    for (let i = 0; i < this.#kept.length; i++) {
      const kept = this.#kept[i]!;
      if (kept.scope !== scope) continue;
      const shared = kept.sequence.compareContextTokens([...prompt]).firstDifferentIndex;
      if (shared > bestShared) [best, bestShared] = [i, shared];
    }
    return best < 0 ? undefined : this.#kept.splice(best, 1)[0]!.sequence;
  }

  /** A sequence holding nothing: a free id, else the least recently kept sequence's, disposed (which clears its cells). */
  async #freeSequence(): Promise<LlamaContextSequence> {
    while (this.context.sequencesLeft === 0) {
      const oldest = this.#kept.shift();
      if (!oldest) throw this.#busy();
      await oldest.sequence.dispose();
    }
    // No await between the check and the take: a concurrent take cannot have the id in between.
    return this.context.getSequence();
  }

  #busy(): InferenceError {
    return new InferenceError("busy", `all ${this.slots} slots of model ${this.modelName}'s context are in use`, "retry when a request on this model has ended");
  }

  release(_context: LlamaContext, kept?: KeptSequence): void {
    if (!kept || this.#keepsPrompts) {
      if (kept) this.#kept.push(kept);
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
