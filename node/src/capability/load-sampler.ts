// Current load for heartbeats and the capability entry, cheap enough to call every few seconds.
// systeminformation's currentLoad is the CPU busy share since its previous call (the first call
// waits ~0.5 s to have an interval). A source that fails falls back to Node's `os` figures.
import type { Load } from "@ripple-mesh/zome-bindings";
import { availableParallelism, freemem, loadavg, totalmem } from "node:os";
import si from "systeminformation";

export const clampPercent = (n: number) => (Number.isFinite(n) ? Math.min(100, Math.max(0, Math.round(n * 10) / 10)) : 0);

export interface SampleLoadOptions {
  /** Ask the GPU driver for utilization (default true); pass false on a machine the probe found no GPU on. */
  gpu?: boolean;
}

export async function sampleLoad({ gpu = true }: SampleLoadOptions = {}): Promise<Load> {
  const [cpu, mem, graphics] = await Promise.allSettled([si.currentLoad(), si.mem(), gpu ? si.graphics() : Promise.resolve(null)]);
  const cpuPercent = cpu.status === "fulfilled" ? cpu.value.currentLoad : (loadavg()[0]! / availableParallelism()) * 100;
  const memPercent =
    mem.status === "fulfilled" && mem.value.total > 0 ? (1 - mem.value.available / mem.value.total) * 100 : (1 - freemem() / totalmem()) * 100;
  const utilizations = graphics.status === "fulfilled" && graphics.value ? graphics.value.controllers.map((c) => c.utilizationGpu ?? 0) : [];
  return { cpu_percent: clampPercent(cpuPercent), gpu_percent: clampPercent(Math.max(0, ...utilizations)), memory_percent: clampPercent(memPercent) };
}
