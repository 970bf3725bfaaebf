// The capability a node advertises in agent_registry. This first version reads what Node's `os`
// module knows; the capability probe (systeminformation, GPU, measured tokens/s) will fill in the
// rest. The libp2p half of the peer binding is signed here; the zome adds the agent's half.
import type { PrivateKey } from "@libp2p/interface";
import { signAgentBinding, type CapabilityDraft, type ModelRef } from "@ripple-mesh/zome-bindings";
import { arch, availableParallelism, freemem, totalmem } from "node:os";
import { peerIdOf } from "../identity/libp2p-key.ts";

export interface DraftInput {
  name: string;
  agentPubKey: Uint8Array;
  libp2pKey: PrivateKey;
  multiaddrs?: string[];
  models?: ModelRef[];
  hardwareClass?: string;
  tokensPerSecond?: number;
}

const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 100) / 100;

export async function capabilityDraft(input: DraftInput): Promise<CapabilityDraft> {
  const [total, free] = [gib(totalmem()), gib(freemem())];
  const peerId = peerIdOf(input.libp2pKey);
  return {
    agent_name: input.name,
    hardware_class: input.hardwareClass ?? "unclassified",
    compute: { cpu_cores: availableParallelism(), cpu_arch: arch(), ram_gb: total, gpu: null },
    storage: { local_ssd_gb: 0, ipfs_pinned_gb: 0 },
    inference: { models_loaded: input.models ?? [], max_batch_size: 1, tokens_per_second: input.tokensPerSecond ?? 0 },
    memory: { total_gb: total, available_gb: Math.min(free, total) },
    network: { bandwidth_mbps: 0, latency_region: "local" },
    availability: { status: "online", max_concurrent_jobs: 1 },
    load: { cpu_percent: 0, gpu_percent: 0, memory_percent: Math.round((1 - free / total) * 100) },
    peer: { peer_id: peerId, multiaddrs: input.multiaddrs ?? [], peer_signature: await signAgentBinding(input.libp2pKey, input.agentPubKey) },
  };
}
