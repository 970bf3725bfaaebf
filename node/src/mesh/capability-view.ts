// This node's capability record (agent_registry) as JSON for the local API and `holochain.register_node`:
// hashes in base64, signatures left out (they prove the binding; a reader checks them on the DHT).
import { encodeHashToBase64 } from "@holochain/client";
import type { CapabilityView } from "@ripple-mesh/api-types";
import type { CapabilityRecord } from "@ripple-mesh/zome-bindings";

export function capabilityView(record: CapabilityRecord): CapabilityView {
  const c = record.capability;
  return {
    actionHash: encodeHashToBase64(record.action_hash),
    agent: encodeHashToBase64(record.author),
    name: c.agent_name,
    hardwareClass: c.hardware_class,
    publishedAtMs: Math.floor(Number(record.timestamp) / 1000),
    compute: c.compute,
    models: c.inference.models_loaded.map((m) => ({ name: m.name, sha256: m.sha256, cid: m.cid })),
    tokensPerSecond: c.inference.tokens_per_second,
    backend: c.inference.backend,
    availability: c.availability,
    load: c.load,
    peerId: c.peer.peer_id,
    multiaddrs: c.peer.multiaddrs,
  };
}
