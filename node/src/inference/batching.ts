// How a model's generations run (compute policy `inference.batching`), decided once per engine:
// - on: sequences of one shared context (shared-context.ts): with several slots, those running at
//   once decode in one llama.cpp batch per step; with a single slot, KEPT_PROMPT_SEQUENCES sequences
//   keep the last prompts for their requester's next request;
// - off: a context of their own each (context-pool.ts), each keeping its last prompt;
// - auto: on, on a GPU or a CPU. Measured on a 2-core CPU (Qwen 0.5B, 2 threads, 64 greedy tokens
//   a request, through the engine), once batches were made in sequence-id order (batch-order.ts):
//   2 requests at once 35.8 tok/s in one context against 29.9 on a context each, 4 at once 62.4
//   against 30.3, 8 at once 84.9 against 29.8. With one slot (prompt-reuse-bench, 2 threads), the
//   shipped policy's MOE experts, job after job: first token 146 ms with 4 prompts kept against 439
//   on a context of one sequence, but a lone decode 18.7 against 22.3 tok/s (13-16% slower on a
//   context of several sequences, inside llama.cpp's decode; with 1 thread, the default on a 2-core
//   machine, no difference). On a GPU, decode is bound by memory bandwidth and per-step overheads
//   that a batch shares (what llama.cpp's own server does); `npm run bench:gpu` measures both ways
//   and is owed its GPU run.
import type { BatchingPreference, BatchingStatus } from "@ripple-mesh/api-types";

/**
 * Sequences a shared context of ONE slot holds: the request's, and prompts kept for the next requests
 * of their scope (shared-context.ts). The shipped policy's experts use three templates on Qwen, so a
 * worker answering an MOE job keeps one prompt each, with one to spare. Each costs a KV stream of
 * contextSize tokens, allocated and cleared (so resident) when the context is made, and counted by the
 * RAM budget (model-sizing.ts): Qwen 0.5B at 2048 tokens, 24 MiB a stream; the loaded model measured
 * 1011 MB resident against 940 with one sequence (estimate 865 against 793 MB).
 */
export const KEPT_PROMPT_SEQUENCES = 4;

/** Sequences of a model's shared context: one per slot, or KEPT_PROMPT_SEQUENCES with a single slot. */
export function sharedContextSequences(slots: number): number {
  return slots === 1 ? KEPT_PROMPT_SEQUENCES : slots;
}

export function resolveBatching(requested: BatchingPreference, maxConcurrent: number): BatchingStatus {
  if (requested === "on") return { requested, mode: "shared-context", reason: "batching: on in the compute policy" };
  if (requested === "off") return { requested, mode: "context-per-request", reason: "batching: off in the compute policy" };
  return maxConcurrent > 1
    ? { requested, mode: "shared-context", reason: `up to ${maxConcurrent} requests at once: those on one model decode in one batch` }
    : { requested, mode: "shared-context", reason: `one request at a time, on a context that keeps the prompts of the last ${KEPT_PROMPT_SEQUENCES} for the next request of their requester` };
}
