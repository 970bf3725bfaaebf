// Which way a model's concurrent requests run (compute policy `inference.batching`), decided once per
// engine from the backend that serves:
// - on: sequences of one shared context, decoded in one llama.cpp batch per step (shared-context.ts);
// - off: a context of their own each (context-pool.ts);
// - auto: on for a GPU backend, where decode is bound by memory bandwidth and per-step overheads that a
//   batch shares (what llama.cpp's own server does; `npm run bench:gpu` measures both ways, and is
//   owed its GPU run); off on the CPU, where the measurements disagree (loaded-model.ts: 2 requests at
//   2 threads, 35 tok/s together in one context against 50 on two; gpu-bench on the CPU, 8 requests
//   at 1 thread, 22.6 against 19.8) and `max_concurrent: auto` is 1 anyway, so a shared context
//   would only allocate every slot's KV cells at load.
import type { BatchingPreference, BatchingStatus } from "@ripple-mesh/api-types";

export function resolveBatching(requested: BatchingPreference, onGpu: boolean): BatchingStatus {
  if (requested === "on") return { requested, mode: "shared-context", reason: "batching: on in the compute policy" };
  if (requested === "off") return { requested, mode: "context-per-request", reason: "batching: off in the compute policy" };
  return onGpu
    ? { requested, mode: "shared-context", reason: "a GPU serves: concurrent requests of a model decode in one batch" }
    : { requested, mode: "context-per-request", reason: "the CPU serves: a context per request (batching measured no clear gain there)" };
}
