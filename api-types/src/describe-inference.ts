// One wording of a node's inference backend and budgets, for `ripple status` and the UI's Node page.
import type { InferenceStatus } from "./inference.ts";

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** "cuda on H200 (140.0 GiB VRAM) (gpu: auto) — …" or "cpu (gpu: auto) — no GPU driver was found; fix: …" */
export function describeBackend(i: InferenceStatus): string {
  const devices = i.gpu ? ` on ${i.gpu.devices.join(" + ") || "a GPU"} (${gib(i.gpu.vramTotalBytes)} VRAM)` : "";
  return `${i.backend}${devices} (gpu: ${i.requested}) — ${i.reason}${i.fix ? `; fix: ${i.fix}` : ""}`;
}

/** "RAM 18.2 GiB, VRAM 120.0 GiB, 1 thread, 1 at once" (VRAM only when a GPU serves). */
export function describeBudgets(i: InferenceStatus): string {
  const vram = i.gpuMemoryBudgetBytes > 0 ? `, VRAM ${gib(i.gpuMemoryBudgetBytes)}` : "";
  return `RAM ${gib(i.memoryBudgetBytes)}${vram}, ${i.threads} thread${i.threads === 1 ? "" : "s"}, ${i.maxConcurrent} at once`;
}
