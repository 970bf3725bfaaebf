// One wording of a node's inference backend and budgets, for `ripple status` and the UI's Node page.
import type { InferenceStatus } from "./inference.ts";

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** "cuda on H200 (140.0 GiB VRAM) (gpu: auto) — …" or "cpu (gpu: auto) — no GPU driver was found; fix: …" */
export function describeBackend(i: InferenceStatus): string {
  const devices = i.gpu ? ` on ${i.gpu.devices.join(" + ") || "a GPU"} (${gib(i.gpu.vramTotalBytes)} VRAM)` : "";
  return `${i.backend}${devices} (gpu: ${i.requested}) — ${i.reason}${i.fix ? `; fix: ${i.fix}` : ""}`;
}

/**
 * "RAM 18.2 GiB, VRAM 120.0 GiB, 15 threads, 8 at once in one batch per model" (VRAM only when a GPU
 * serves; how requests share a model only when more than one runs at once).
 */
export function describeBudgets(i: InferenceStatus): string {
  const vram = i.gpuMemoryBudgetBytes > 0 ? `, VRAM ${gib(i.gpuMemoryBudgetBytes)}` : "";
  const sharing = i.maxConcurrent <= 1 ? "" : i.batching.mode === "shared-context" ? " in one batch per model" : ", a context each";
  return `RAM ${gib(i.memoryBudgetBytes)}${vram}, ${i.threads} thread${i.threads === 1 ? "" : "s"}, ${i.maxConcurrent} at once${sharing}`;
}
