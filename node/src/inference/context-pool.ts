// One model's contexts, reused across requests (loaded-model.ts says why one sequence each).
// A generation takes an empty context: any sequence kept on it is disposed first, which clears its
// KV cells, so nothing of one request can leak into the next. Rescoring (a requester checking a
// peer's claimed confidence) may leave its sequence on the context it returns, holding the prompt it
// scored, and the next rescoring takes the idle context whose kept sequence shares most with its own
// prompt; what those KV cells hold is this node's own prompts and peers' answers, read by nothing
// but another rescoring.
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { BatchOrderStats } from "./batch-order.ts";
import { InferenceError } from "./inference-errors.ts";

export interface ContextPoolShape {
  contextSize: number;
  /** Contexts at most (requests on the model at once). */
  slots: number;
  threads: number;
}

/** A context taken from the pool, with the rescoring sequence kept on it, if any (the taker's now). */
export interface TakenContext {
  context: LlamaContext;
  kept: LlamaContextSequence | undefined;
}

/**
 * Where a loaded model's requests run (the engine's `batching`): a context of their own each
 * (ContextPool), or sequences of one shared context that decode in one batch per step
 * (shared-context.ts). Every take is paired with a release, whatever happened.
 */
export interface GenerationContexts {
  /** Contexts made so far. */
  readonly size: number;
  /** The batches of a shared context (batch-order.ts); null for contexts of their own. */
  readonly batchStats: BatchOrderStats | null;
  /** A context with room for a fresh sequence of a generation. */
  takeEmpty(): Promise<LlamaContext>;
  /** A context for rescoring `head`, with a sequence already holding part of it, if any. */
  takeForRescoring(head: readonly Token[]): Promise<TakenContext>;
  /** Back to the pool; `sequence` (a rescoring's) may be kept for the next rescoring, or disposed. */
  release(context: LlamaContext, sequence?: LlamaContextSequence): void;
  dispose(): Promise<void>;
}

export class ContextPool implements GenerationContexts {
  readonly #contexts: LlamaContext[];
  /** Contexts no request uses now, most recently used last. */
  readonly #idle: LlamaContext[];
  /** Rescoring sequences kept on idle contexts. */
  readonly #kept = new Map<LlamaContext, LlamaContextSequence>();

  constructor(
    private readonly model: LlamaModel,
    first: LlamaContext,
    private readonly shape: ContextPoolShape,
    private readonly modelName: string,
  ) {
    this.#contexts = [first];
    this.#idle = [first];
  }

  readonly batchStats = null;

  /** Contexts made so far (1 after the load, at most `slots`). */
  get size(): number {
    return this.#contexts.length;
  }

  /** An empty context for a generation: an idle one without a kept sequence first, else one emptied, else a new one. */
  async takeEmpty(): Promise<LlamaContext> {
    const { context, kept } = await this.#take((c) => (this.#kept.has(c) ? 0 : 1));
    try {
      await kept?.dispose();
    } catch (err) {
      this.#idle.push(context);
      throw err;
    }
    return context;
  }

  /** A context for rescoring `head`: the idle one whose kept sequence holds the longest start of it. */
  takeForRescoring(head: readonly Token[]): Promise<TakenContext> {
    return this.#take((c) => {
      const kept = this.#kept.get(c);
      return kept ? 1 + kept.compareContextTokens([...head]).firstDifferentIndex : 0;
    });
  }

  /** Back to the pool whatever happened (a lost context would shrink the model's slots for good), keeping `sequence` on it. */
  release(context: LlamaContext, sequence?: LlamaContextSequence): void {
    if (sequence) this.#kept.set(context, sequence);
    this.#idle.push(context);
  }

  async dispose(): Promise<void> {
    for (const context of this.#contexts) await context.dispose().catch(() => {});
  }

  /** The idle context `preference` ranks highest (the most recently used of equals), else a new one while under `slots`. */
  async #take(preference: (c: LlamaContext) => number): Promise<TakenContext> {
    if (this.#idle.length > 0) {
      let best = this.#idle.length - 1;
      for (let i = best - 1; i >= 0; i--) if (preference(this.#idle[i]!) > preference(this.#idle[best]!)) best = i;
      const context = this.#idle.splice(best, 1)[0]!;
      const kept = this.#kept.get(context);
      this.#kept.delete(context);
      return { context, kept };
    }
    // The engine's gate admits no more requests than `slots`.
    if (this.#contexts.length >= this.shape.slots) throw new Error(`all ${this.shape.slots} contexts of model ${this.modelName} are in use`);
    try {
      const context = await this.model.createContext({ contextSize: this.shape.contextSize, sequences: 1, threads: this.shape.threads });
      this.#contexts.push(context);
      return { context, kept: undefined };
    } catch (cause) {
      throw new InferenceError("failed", `cannot create another context for model ${this.modelName}: ${(cause as Error).message}`, "lower the node's max concurrent requests or context size, or free memory", { cause });
    }
  }
}
