// How a shared context (batching on, shared-context.ts) makes each llama.cpp batch: its tokens in
// sequence-id order, and, when a generating sequence is a few microtasks from queuing its token, the
// step waits for it.
//
// Why, measured on a 2-core CPU (Qwen 0.5B, 8 greedy generations of 48 tokens on one context of 8
// sequences, 2 threads): node-llama-cpp 3.22 gave 35 tok/s in all, against 89 tok/s for the same 8
// sequences stepped together by hand. Two causes:
// - node-llama-cpp makes contexts with a KV stream per sequence (kv_unified off), and llama.cpp then
//   cuts a batch into separate passes over the weights (ubatches) wherever sequence ids stop being
//   consecutive and ascending (split_equal, "sequential"); node-llama-cpp queues a step's tokens in
//   the order their sampling ended (e.g. 4305672), so a step of 7 tokens took up to 5 passes, 2.5x
//   the time of an ordered one;
// - its batch loop starts the next step as soon as the previous step's samplings have resolved, a
//   few microtasks before the last of those sequences has queued its next token, so every step
//   left one sequence for the next (7 of 8 a step, and the gap made a second pass).
// Ordered, and waiting up to MAX_DEFERRALS microtask rounds for the sequences that are generating,
// it gave 87 tok/s: 8 tokens a step in one pass. Under churn (16 requests of 8-40 tokens through 4
// slots, requests ending and starting): 40 tok/s against 28.5, 122 batches and 154 passes against
// 189 and ~300. On a GPU, where a pass costs about the same for 1
// token as for 8, the extra passes cost the most. `npm run bench:gpu` prints both side by side (bare
// node-llama-cpp's "1 ctx × 8 seq" against the engine's "8 slots, one batch"; on a CPU with
// RIPPLE_GPU_BENCH_ON_CPU=1).
//
// The strategy reads node-llama-cpp's queued decodes (an internal field, `_queuedDecodes`, for each
// item's sequence id): the version is pinned, and inference-batching.test.ts fails if the field
// changes (its passes then outnumber its batches). Without it the items keep node-llama-cpp's order.
// Not done: choosing which free id a new request takes. Handing out the free id next to those in
// use was tried (16 requests of 8-40 tokens through 4 slots) and made more passes (170 against 153
// for node-llama-cpp's first-freed-first), so ids stay as node-llama-cpp gives them.
import type { BatchItem, LlamaContext, PrioritizedBatchItem } from "node-llama-cpp";

/** Microtask rounds a step may wait for a generating sequence's token (3 sufficed in the measurement). */
export const MAX_DEFERRALS = 8;

/** What node-llama-cpp keeps per queued decode, of which the order needs two fields. */
interface QueuedDecodeView {
  tokens: unknown;
  sequenceId: number;
}

/**
 * Batches made and what they held. `passes` counts runs of consecutive sequence ids: llama.cpp's
 * passes over a decode step; a lower bound when a prompt shares the batch (a pass takes as many
 * tokens from each sequence in it, so a prompt's rest needs passes of its own).
 */
export interface BatchOrderStats {
  batches: number;
  sequences: number;
  passes: number;
}

/**
 * Each item's share of the batch (an equal share each, then what is left to those with more tokens
 * in queue order: like node-llama-cpp's "maximumParallelism", which spreads the rest in passes and
 * by evaluation priority, a difference that matters only when prompts fill the batch), then the
 * items in sequence-id order.
 * `sequenceOf` is undefined for an item whose sequence is unknown: those keep their place at the end.
 */
export function orderBatch(items: readonly BatchItem[], size: number, sequenceOf: (item: BatchItem) => number | undefined): PrioritizedBatchItem[] {
  let left = size;
  const share = Math.max(1, Math.floor(size / Math.max(1, items.length)));
  const given = items.map((item) => {
    const processAmount = Math.min(item.tokens.length, left, share);
    left -= processAmount;
    return { item, processAmount };
  });
  for (const g of given) {
    const more = Math.min(g.item.tokens.length - g.processAmount, left);
    g.processAmount += more;
    left -= more;
  }
  const key = (g: PrioritizedBatchItem) => sequenceOf(g.item) ?? Number.MAX_SAFE_INTEGER;
  return given.filter((g) => g.processAmount > 0).sort((a, b) => key(a) - key(b));
}

/** Runs of consecutive ascending ids in `ids`: the passes llama.cpp makes over a batch of those sequences. */
export function passesOf(ids: readonly number[]): number {
  let passes = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[i - 1]! + 1) passes++;
  return passes;
}

/** The batching strategy of one shared context; `generating()` is how many of its sequences are taken. */
export class BatchOrder {
  #context: LlamaContext | undefined;
  #deferrals = 0;
  readonly stats: BatchOrderStats = { batches: 0, sequences: 0, passes: 0 };

  constructor(private readonly generating: () => number) {}

  /** The context this strategy orders (made with it, so known only after). */
  attach(context: LlamaContext): void {
    this.#context = context;
  }

  /** node-llama-cpp's `batching.itemPrioritizationStrategy`: called, synchronously, for each batch. */
  readonly strategy = ({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] => {
    // An empty batch makes node-llama-cpp's loop go round once more (a microtask), with the tokens
    // still queued: the late sequence's token joins this step.
    if (items.length < this.generating() && this.#deferrals < MAX_DEFERRALS) {
      this.#deferrals++;
      return [];
    }
    this.#deferrals = 0;
    const ids = this.#sequenceIds();
    const ordered = orderBatch(items, size, (item) => ids.get(item.tokens));
    const known = ordered.map((g) => ids.get(g.item.tokens)).filter((id): id is number => id !== undefined);
    this.stats.batches++;
    this.stats.sequences += ordered.length;
    this.stats.passes += passesOf(known) + (ordered.length - known.length);
    return ordered;
  };

  /** Queued token arrays → their sequence id, from node-llama-cpp's queue (empty if it has none). */
  #sequenceIds(): Map<unknown, number> {
    const queued = (this.#context as unknown as { _queuedDecodes?: unknown })?._queuedDecodes;
    const ids = new Map<unknown, number>();
    if (!Array.isArray(queued)) return ids;
    for (const q of queued as QueuedDecodeView[]) if (typeof q?.sequenceId === "number") ids.set(q.tokens, q.sequenceId);
    return ids;
  }
}
