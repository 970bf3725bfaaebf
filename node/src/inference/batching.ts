// Which way a model's concurrent requests run (compute policy `inference.batching`), decided once per
// engine from the backend that serves:
// - on: sequences of one shared context, decoded in one llama.cpp batch per step (shared-context.ts);
// - off: a context of their own each (context-pool.ts);
// - auto: on wherever more than one request may run at once (max_concurrent > 1), on a GPU or a CPU;
//   off with a single slot, where a context of one sequence is the same thing and the context pool
//   keeps rescoring's prompts between requests (context-pool.ts).
// Measured on a 2-core CPU (Qwen 0.5B, 2 threads, 64 greedy tokens a request, through the engine),
// once batches were made in sequence-id order (batch-order.ts): 2 requests at once 35.8 tok/s in one
// context against 29.9 on a context each, 4 at once 62.4 against 30.3, 8 at once 84.9 against 29.8;
// a lone request on a 4-sequence context 23-25.5 against 26.2-26.6 (the KV streams it sets up).
// Before that ordering, one context was the slower choice on the CPU (35 against 50 tok/s for two
// requests), which is why auto was off there. On a GPU, decode is bound by memory bandwidth and
// per-step overheads that a batch shares (what llama.cpp's own server does); `npm run bench:gpu`
// measures both ways and is owed its GPU run.
import type { BatchingPreference, BatchingStatus } from "@ripple-mesh/api-types";

export function resolveBatching(requested: BatchingPreference, maxConcurrent: number): BatchingStatus {
  if (requested === "on") return { requested, mode: "shared-context", reason: "batching: on in the compute policy" };
  if (requested === "off") return { requested, mode: "context-per-request", reason: "batching: off in the compute policy" };
  return maxConcurrent > 1
    ? { requested, mode: "shared-context", reason: `up to ${maxConcurrent} requests at once: those on one model decode in one batch` }
    : { requested, mode: "context-per-request", reason: "one request at a time: nothing to batch" };
}
