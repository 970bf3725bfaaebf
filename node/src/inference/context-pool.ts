// One model's contexts with `batching: off`, reused across requests: a context of one sequence per
// request running (loaded-model.ts has the figures; the default is one shared context, shared-context.ts).
// A generation's sequence is kept on its context when it ends, holding its prompt and answer, under
// the request's prompt-reuse scope (GenerateRequest.promptReuseScope): the next generation of the
// same scope takes the idle context whose kept sequence holds the longest start of its prompt, and
// node-llama-cpp evaluates only from the first token that differs (the cells after it are erased
// first). The KV cells of a prompt's first N tokens depend on those N tokens alone, so a request
// reads nothing of another's but what it sent itself. A generation of another scope, or of none,
// disposes a kept sequence before it starts, which clears its KV cells: how fast a shared start
// evaluates would otherwise tell one requester what another sent. Rescoring (a requester checking
// a peer's claimed confidence) keeps its sequences the same way, under a scope of its own.
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { BatchOrderStats } from "./batch-order.ts";
import { InferenceError } from "./inference-errors.ts";

export interface ContextPoolShape {
  contextSize: number;
  /** Contexts at most (requests on the model at once). */
  slots: number;
  threads: number;
}

/** A context taken from the pool, with the taker's sequence on it: one kept for its scope (holding a start of its prompt), or a fresh one. */
export interface TakenContext {
  context: LlamaContext;
  sequence: LlamaContextSequence;
}

/** A sequence left on a context for the next take of `scope`. */
export interface KeptSequence {
  sequence: LlamaContextSequence;
  scope: string;
}

/** The scope rescoring keeps its sequences under: no generation's (those are requesters' keys). */
export const RESCORING_SCOPE = "\u0000rescoring";

/**
 * Where a loaded model's requests run (the engine's `batching`): a context of their own each
 * (ContextPool), or sequences of one shared context that decode in one batch per step
 * (shared-context.ts). Every take is paired with a release, whatever happened.
 */
export interface GenerationContexts {
  /** Contexts made so far. */
  readonly size: number;
  /** Tokens one request's sequence may hold (llama.cpp may round the context size up). */
  readonly tokensPerSequence: number;
  /** The batches of a shared context (batch-order.ts); null for contexts of their own. */
  readonly batchStats: BatchOrderStats | null;
  /**
   * A context for a generation of `prompt` and its sequence: one kept under the same `scope` that
   * holds the longest start of it, if any (none without a scope), else a fresh one; a kept sequence of
   * another scope is never handed over (disposed first, where it must make room).
   */
  takeForGeneration(prompt: readonly Token[], scope: string | undefined): Promise<TakenContext>;
  /** A context for rescoring `head`, with a sequence already holding part of it, if any, else a fresh one. */
  takeForRescoring(head: readonly Token[]): Promise<TakenContext>;
  /** Back to the pool; a `kept` sequence may stay there for the next take of its scope, or be disposed. */
  release(context: LlamaContext, kept?: KeptSequence): void;
  dispose(): Promise<void>;
}

export class ContextPool implements GenerationContexts {
  readonly #contexts: LlamaContext[];
  /** Contexts no request uses now, most recently used last. */
  readonly #idle: LlamaContext[];
  /** Sequences kept on idle contexts, with the scope that may reuse them. */
  readonly #kept = new Map<LlamaContext, KeptSequence>();

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

  get tokensPerSequence(): number {
    return this.#contexts[0]!.contextSize;
  }

  takeForGeneration(prompt: readonly Token[], scope: string | undefined): Promise<TakenContext> {
    return this.#takeFor(prompt, scope);
  }

  /** A context for rescoring `head`: the idle one whose kept sequence holds the longest start of it. */
  takeForRescoring(head: readonly Token[]): Promise<TakenContext> {
    return this.#takeFor(head, RESCORING_SCOPE);
  }

  /** Back to the pool whatever happened (a lost context would shrink the model's slots for good), keeping `sequence` on it. */
  release(context: LlamaContext, kept?: KeptSequence): void {
    if (kept) this.#kept.set(context, kept);
    this.#idle.push(context);
  }

  async dispose(): Promise<void> {
    for (const context of this.#contexts) await context.dispose().catch(() => {});
  }

  /**
   * The idle context whose sequence kept under `scope` holds the longest start of `head` (one
   * without a kept sequence next, then one kept for another scope, emptied), else a new one.
   */
  async #takeFor(head: readonly Token[], scope: string | undefined): Promise<TakenContext> {
    const taken = await this.#take((c) => {
      const kept = this.#kept.get(c);
      if (!kept) return 1;
      return scope !== undefined && kept.scope === scope ? 1 + kept.sequence.compareContextTokens([...head]).firstDifferentIndex : 0;
    });
    if (taken.kept && scope !== undefined && taken.scope === scope) return { context: taken.context, sequence: taken.kept };
    try {
      await taken.kept?.dispose();
      return { context: taken.context, sequence: taken.context.getSequence() };
    } catch (cause) {
      this.#idle.push(taken.context); // a take is always given back, or the model loses the slot for good
      throw new InferenceError("failed", `model ${this.modelName} has no free sequence: ${(cause as Error).message}`, "retry; if it fails again, unload and reload the model", { cause });
    }
  }

  /** The idle context `preference` ranks highest (the most recently used of equals), else a new one while under `slots`. */
  async #take(preference: (c: LlamaContext) => number): Promise<{ context: LlamaContext; kept?: LlamaContextSequence; scope?: string }> {
    if (this.#idle.length > 0) {
      let best = this.#idle.length - 1;
      for (let i = best - 1; i >= 0; i--) if (preference(this.#idle[i]!) > preference(this.#idle[best]!)) best = i;
      const context = this.#idle.splice(best, 1)[0]!;
      const kept = this.#kept.get(context);
      this.#kept.delete(context);
      return { context, kept: kept?.sequence, scope: kept?.scope };
    }
    // The engine's gate admits no more requests than `slots`.
    if (this.#contexts.length >= this.shape.slots) throw new Error(`all ${this.shape.slots} contexts of model ${this.modelName} are in use`);
    try {
      const context = await this.model.createContext({ contextSize: this.shape.contextSize, sequences: 1, threads: this.shape.threads });
      this.#contexts.push(context);
      return { context };
    } catch (cause) {
      throw new InferenceError("failed", `cannot create another context for model ${this.modelName}: ${(cause as Error).message}`, "lower the node's max concurrent requests or context size, or free memory", { cause });
    }
  }
}
