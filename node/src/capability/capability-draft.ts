// The capability a node advertises in agent_registry, built from the capability probe's facts
// (probe.ts) when given, else from what Node's `os` module knows. Numbers are rounded and clamped
// to the entry's limits, texts cut to their byte limits. The libp2p half of the peer binding is
// signed here; the zome adds the agent's half.
import type { PrivateKey } from "@libp2p/interface";
import { replaceControlCharacters, signAgentBinding, type CapabilityDraft, type Load, type ModelRef } from "@ripple-mesh/zome-bindings";
import type { BackendChoice } from "@ripple-mesh/api-types";
import { arch, availableParallelism, freemem, totalmem } from "node:os";
import { peerIdOf } from "../identity/libp2p-key.ts";
import type { MachineFacts } from "./probe.ts";

export interface DraftInput {
  name: string;
  agentPubKey: Uint8Array;
  libp2pKey: PrivateKey;
  multiaddrs?: string[];
  models?: ModelRef[];
  /** Overrides the probe's class. */
  hardwareClass?: string;
  /** Overrides the probe's measurement. */
  tokensPerSecond?: number;
  /** What probeMachine found; without it only Node's `os` figures are used. */
  probe?: MachineFacts;
  /** The current load (sampleLoad); without it only the memory share is filled in. */
  load?: Load;
  /** Generations this node runs at once (the engine's resolved max_concurrent); default 1. */
  maxConcurrent?: number;
  /** The backend the engine serves on, and its GPU devices (llama-backend.ts); default the CPU. */
  serving?: Pick<BackendChoice, "backend" | "gpu">;
}

const MAX_GB = 1e7;
const clamp = (n: number, min: number, max: number) => (Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : min);
const gb = (n: number) => clamp(Math.round(n * 100) / 100, 0, MAX_GB);
const gib = (bytes: number) => gb(bytes / 2 ** 30);
/** Non-empty and at most `max` UTF-8 bytes (the zome counts bytes). */
function text(s: string, max: number): string {
  // agent_registry refuses control characters in labels; a probed GPU name is not ours to trust.
  let out = replaceControlCharacters(s, " ").trim() || "unknown";
  // Cut by code point, not UTF-16 unit: half an emoji would be invalid UTF-8 on the wire.
  while (Buffer.byteLength(out) > max) out = Array.from(out).slice(0, -1).join("");
  return out;
}

export async function capabilityDraft(input: DraftInput): Promise<CapabilityDraft> {
  const facts = input.probe;
  const total = gb(facts?.memory.totalGb ?? gib(totalmem()));
  const available = Math.min(gb(facts?.memory.availableGb ?? gib(freemem())), total);
  const backend = input.serving?.backend ?? "cpu";
  const gpu = facts?.gpu ? { vendor: text(facts.gpu.vendor, 32), model: text(facts.gpu.model, 128), vram_gb: gb(facts.gpu.vramGb ?? 0) } : backendGpu(input.serving);
  const tokensPerSecond = input.tokensPerSecond ?? facts?.tokensPerSecond?.tokensPerSecond ?? 0;
  const slots = clamp(Math.round(input.maxConcurrent ?? 1), 1, 64);
  const memoryPercent = total > 0 ? clamp(Math.round((1 - available / total) * 1000) / 10, 0, 100) : 0;
  return {
    agent_name: text(input.name, 64),
    hardware_class: text(input.hardwareClass ?? facts?.hardwareClass ?? "unclassified", 32),
    compute: {
      cpu_cores: clamp(Math.round(facts?.cpu.logicalCores ?? availableParallelism()), 1, 4096),
      cpu_arch: text(facts?.cpu.arch ?? arch(), 32),
      ram_gb: total,
      gpu,
    },
    storage: { local_ssd_gb: gb(facts?.disk.freeGb ?? 0), ipfs_pinned_gb: 0 },
    // A GPU backend needs a compute.gpu (the zome refuses one without); both come from the engine's
    // choice when the hardware probe found no GPU.
    inference: { models_loaded: input.models ?? [], max_batch_size: slots, tokens_per_second: clamp(Math.round(tokensPerSecond * 100) / 100, 0, 1e6), backend: gpu ? backend : "cpu" },
    memory: { total_gb: total, available_gb: available },
    network: { bandwidth_mbps: 0, latency_region: "local" },
    availability: { status: "online", max_concurrent_jobs: slots },
    load: input.load ?? { cpu_percent: 0, gpu_percent: 0, memory_percent: memoryPercent },
    peer: { peer_id: peerIdOf(input.libp2pKey), multiaddrs: input.multiaddrs ?? [], peer_signature: await signAgentBinding(input.libp2pKey, input.agentPubKey) },
  };
}

/** The GPU as the serving backend sees it, for a machine whose hardware probe found none. */
function backendGpu(serving: DraftInput["serving"]): CapabilityDraft["compute"]["gpu"] {
  if (!serving || serving.backend === "cpu" || !serving.gpu) return null;
  const vendor = serving.backend === "cuda" ? "nvidia" : serving.backend === "metal" ? "apple" : "unknown";
  return { vendor, model: text(serving.gpu.devices.join(" + "), 128), vram_gb: gib(serving.gpu.vramTotalBytes) };
}
