// The llama.cpp backend this node serves on, chosen once at start from the compute policy's
// `inference.gpu`: the best GPU backend that loads here (auto), the one named, or the CPU (off).
// A GPU backend that fails to load (no driver, wrong runtime) falls back to the CPU with one log line
// that says why and how to fix it; `ripple status` and the UI's Node page show the same reason.
// Never a build or a download at run time: only node-llama-cpp's prebuilt binaries are used.
import type { Llama, LlamaGpuType } from "node-llama-cpp";
import { llamaModule } from "./llama-module.ts";
import type { BackendChoice, GpuPreference, ServingBackend } from "@ripple-mesh/api-types";
import type { Logger } from "../log.ts";

export type { BackendChoice, ServingBackend };

export interface OpenedLlama {
  llama: Llama;
  choice: BackendChoice;
}

const llamaOptions = async (threads: number) => ({ build: "never" as const, maxThreads: threads, logLevel: (await llamaModule()).LlamaLogLevel.error, progressLogs: false });

const driverFix = "install the GPU's driver (NVIDIA: a CUDA 12/13 driver; AMD/Intel: a Vulkan driver) and restart the node, or set inference.gpu: off in the compute policy to silence this";

/** The CPU, because the policy says so (also the engine's backend when it is given none). */
export const cpuOffChoice: BackendChoice = { backend: "cpu", requested: "off", reason: "inference.gpu is off in the compute policy", fix: null, gpu: null };

/** Opens llama.cpp on the backend the policy asks for, falling back to the CPU when a GPU one cannot load. */
export async function openLlama(requested: GpuPreference, threads: number, log: Logger): Promise<OpenedLlama> {
  if (requested === "off") return { llama: await cpuLlama(threads), choice: cpuOffChoice };

  let llama: Llama | undefined;
  let failure: string | undefined;
  try {
    const { getLlama } = await llamaModule();
    llama = await getLlama({ ...(await llamaOptions(threads)), gpu: requested });
  } catch (err) {
    failure = describeLoadError(err);
  }
  if (llama && llama.gpu !== false) {
    const [vram, devices] = await Promise.all([llama.getVramState(), llama.getGpuDeviceNames().catch(() => [])]);
    const choice: BackendChoice = {
      backend: llama.gpu,
      requested,
      reason: requested === "auto" ? `auto picked ${llama.gpu}, the best GPU backend that loads here` : `inference.gpu is ${requested}`,
      fix: null,
      gpu: { devices, vramTotalBytes: vram.total, vramFreeBytes: vram.free },
    };
    log.info({ backend: choice.backend, devices, vramTotalBytes: vram.total, vramFreeBytes: vram.free }, `inference backend: ${choice.backend}`);
    return { llama, choice };
  }
  const reason = await explainNoGpu(requested, failure);
  log.warn({ requested, reason, fix: driverFix }, `inference backend: cpu, because ${reason}; fix: ${driverFix}`);
  const choice: BackendChoice = { backend: "cpu", requested, reason, fix: driverFix, gpu: null };
  // "auto" without a GPU already gave a working CPU llama.cpp: keep it (each getLlama costs seconds).
  return { llama: llama ?? (await cpuLlama(threads)), choice };
}

/** llama.cpp on exactly this backend, no fallback (the CPU; or the one the start-up probe chose, lazy-llama.ts). */
export async function openBackend(backend: ServingBackend, threads: number): Promise<Llama> {
  const { getLlama } = await llamaModule();
  return getLlama({ ...(await llamaOptions(threads)), gpu: backend === "cpu" ? false : backend });
}

const cpuLlama = (threads: number) => openBackend("cpu", threads);

/** Why no GPU backend loaded, in words a user can act on. */
async function explainNoGpu(requested: GpuPreference, failure: string | undefined): Promise<string> {
  // "supported": the backends whose driver/runtime node-llama-cpp finds on this machine.
  const { getLlamaGpuTypes } = await llamaModule();
  const supported = (await getLlamaGpuTypes("supported").catch(() => [false as const])).filter((t) => t !== false);
  if (requested === "auto") {
    if (supported.length === 0) return "no GPU driver was found (node-llama-cpp finds neither CUDA nor Vulkan nor Metal on this machine)";
    return `the ${supported.join(" and ")} backend${supported.length > 1 ? "s were" : " was"} found but did not load${failure ? ` (${failure})` : ""}`;
  }
  if (!supported.includes(requested as LlamaGpuType)) return `inference.gpu is ${requested}, but no ${requested} driver/runtime was found on this machine`;
  return `inference.gpu is ${requested}, but its backend did not load${failure ? ` (${failure})` : ""}`;
}

function describeLoadError(err: unknown): string {
  const e = err as Error;
  // node-llama-cpp's NoBinaryFoundError carries no message beyond its name.
  if (e?.name === "NoBinaryFoundError" || e?.message === "NoBinaryFoundError") return "no prebuilt binary of it loads here";
  return (e?.message ?? String(err)).split("\n")[0]!.slice(0, 200);
}
