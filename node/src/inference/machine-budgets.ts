// The compute policy's `auto` figures, resolved against this machine once at start:
// - memory_budget_gb: the RAM available now (MemAvailable, not just "free") less a margin for the
//   conductor, kubo and the daemon (a fixed 4 GB refused a 7B model on a 128 GB box);
// - gpu_memory_budget_gb: the card's free VRAM less a margin (gpu-budget.ts);
// - max_concurrent: 1 on a CPU (one generation already uses every free core: two at once measured
//   slower in total, see loaded-model.ts), and on a GPU one slot per 2 GiB of VRAM budget, 1..8.
import si from "systeminformation";
import { freemem } from "node:os";
import type { ComputePolicy } from "../config/compute-policy.ts";
import { autoGpuBudgetBytes } from "./gpu-budget.ts";
import type { BackendChoice } from "./llama-backend.ts";

const GIB = 2 ** 30;

export interface ResolvedBudgets {
  memoryBudgetBytes: number;
  gpuMemoryBudgetBytes: number;
  maxConcurrent: number;
}

/** RAM inference may use: available memory less max(1.5 GiB, 15 %), at least 512 MiB. */
export function autoMemoryBudgetBytes(availableBytes: number): number {
  const margin = Math.max(1.5 * GIB, availableBytes * 0.15);
  return Math.max(512 * 2 ** 20, availableBytes - margin);
}

/** Generations at once when the policy says auto. */
export function autoMaxConcurrent(backend: BackendChoice, gpuMemoryBudgetBytes: number): number {
  if (!backend.gpu) return 1;
  return Math.min(8, Math.max(1, Math.floor(gpuMemoryBudgetBytes / (2 * GIB))));
}

export async function resolveBudgets(inference: ComputePolicy["inference"], backend: BackendChoice): Promise<ResolvedBudgets> {
  const available = inference.memory_budget_gb === "auto" ? await availableMemoryBytes() : 0;
  const memoryBudgetBytes = inference.memory_budget_gb === "auto" ? autoMemoryBudgetBytes(available) : inference.memory_budget_gb * GIB;
  const gpuMemoryBudgetBytes = !backend.gpu ? 0 : inference.gpu_memory_budget_gb === "auto" ? autoGpuBudgetBytes(backend.gpu.vramFreeBytes) : inference.gpu_memory_budget_gb * GIB;
  const maxConcurrent = inference.max_concurrent === "auto" ? autoMaxConcurrent(backend, gpuMemoryBudgetBytes) : inference.max_concurrent;
  return { memoryBudgetBytes, gpuMemoryBudgetBytes, maxConcurrent };
}

async function availableMemoryBytes(): Promise<number> {
  try {
    const m = await si.mem();
    return Math.min(m.available, m.total);
  } catch {
    return freemem();
  }
}
