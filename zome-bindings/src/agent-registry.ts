// Types and typed calls for the agent_registry DNA. Limits mirror the integrity zome's
// (dnas/agent_registry/zomes/integrity/agent_registry_integrity/src/*.rs) so bad input fails
// here, before a zome call, with the field named.
import { z } from "zod";
import {
  actionHashSchema,
  agentPubKeySchema,
  labelText,
  cidSchema,
  foundSchema,
  recordList,
  sha256HexSchema,
  signatureSchema,
  timestampSchema,
  validationStatusSchema,
} from "./hashes.ts";
import { readCostSchema, type ReadCost } from "./read-cost.ts";
import type { ZomeCaller } from "./zome-caller.ts";

export const agentRegistryRole = "agent_registry";
const zome = "agent_registry";

const MAX_GB = 1e7;
const gb = z.number().min(0).max(MAX_GB);
const percent = z.number().min(0).max(100);

export const loadSchema = z.strictObject({ cpu_percent: percent, gpu_percent: percent, memory_percent: percent });
export type Load = z.infer<typeof loadSchema>;

export const modelRefSchema = z
  .strictObject({ name: labelText(128), sha256: sha256HexSchema.nullable(), cid: cidSchema.nullable() })
  .refine((m) => m.sha256 !== null || m.cid !== null, "a model needs a sha256 or a cid");
export type ModelRef = z.infer<typeof modelRefSchema>;

export const peerBindingSchema = z.strictObject({
  peer_id: labelText(64),
  multiaddrs: z.array(labelText(256).refine((a) => a.startsWith("/"), "must start with /")).max(16),
  agent_signature: signatureSchema,
  peer_signature: signatureSchema,
});
export type PeerBinding = z.infer<typeof peerBindingSchema>;

export const nodeCapabilitySchema = z.strictObject({
  agent: agentPubKeySchema,
  agent_name: labelText(64),
  hardware_class: labelText(32),
  compute: z.strictObject({
    cpu_cores: z.number().int().min(1).max(4096),
    cpu_arch: labelText(32),
    ram_gb: gb,
    gpu: z.strictObject({ vendor: labelText(32), model: labelText(128), vram_gb: gb }).nullable(),
  }),
  storage: z.strictObject({ local_ssd_gb: gb, ipfs_pinned_gb: gb }),
  inference: z.strictObject({
    models_loaded: z.array(modelRefSchema).max(64),
    max_batch_size: z.number().int().min(1).max(4096),
    tokens_per_second: z.number().min(0).max(1e6),
    /** The llama.cpp backend that serves (and measured tokens_per_second); a GPU one only with compute.gpu. */
    backend: z.enum(["cpu", "cuda", "vulkan", "metal"]),
  }),
  memory: z.strictObject({ total_gb: gb, available_gb: gb }).refine((m) => m.available_gb <= m.total_gb, "memory.available_gb must not exceed total_gb"),
  network: z.strictObject({ bandwidth_mbps: z.number().min(0).max(1e7), latency_region: labelText(32) }),
  availability: z.strictObject({
    status: z.enum(["online", "busy", "draining", "offline"]),
    max_concurrent_jobs: z.number().int().min(0).max(1024),
  }),
  load: loadSchema,
  peer: peerBindingSchema,
}).refine((c) => c.inference.backend === "cpu" || c.compute.gpu !== null, { message: "inference.backend other than cpu needs a compute.gpu", path: ["inference", "backend"] });
export type NodeCapability = z.infer<typeof nodeCapabilitySchema>;

/** What a caller provides: the zome fills in `agent` and `peer.agent_signature` itself. */
export type CapabilityDraft = Omit<NodeCapability, "agent" | "peer"> & { peer: Omit<PeerBinding, "agent_signature"> };

export const capabilityRecordSchema = z.strictObject({
  action_hash: actionHashSchema,
  author: agentPubKeySchema,
  timestamp: timestampSchema,
  capability: nodeCapabilitySchema,
});
export type CapabilityRecord = z.infer<typeof capabilityRecordSchema>;

export const heartbeatSchema = z.strictObject({
  agent: agentPubKeySchema,
  status: z.enum(["online", "offline"]),
  load: loadSchema,
  active_jobs: z.number().int().min(0).max(1024),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;
export type HeartbeatInput = Omit<Heartbeat, "agent">;

export const nodeStatusSchema = z.strictObject({
  agent: agentPubKeySchema,
  heartbeat: foundSchema(heartbeatSchema),
  capability: capabilityRecordSchema.nullable(),
});
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

export const meshViewSchema = z.strictObject({
  nodes: recordList(capabilityRecordSchema),
  heartbeats: recordList(foundSchema(heartbeatSchema)),
});
export type MeshView = z.infer<typeof meshViewSchema>;

/** Placeholder bytes the zome overwrites (agent key and agent signature are the cell's own). */
const unsetAgent = new Uint8Array([0x84, 0x20, 0x24, ...new Array<number>(36).fill(0)]);
const unsetSignature = new Uint8Array(64);

export function agentRegistry(conductor: ZomeCaller) {
  const call = (fn: string, payload: unknown) => conductor.callZome({ role: agentRegistryRole, zome, fn, payload });
  return {
    /** Publish (a new version of) this node's capability; returns the record's action hash. */
    async publishCapability(draft: CapabilityDraft): Promise<Uint8Array> {
      const payload = nodeCapabilitySchema.parse({ ...draft, agent: unsetAgent, peer: { ...draft.peer, agent_signature: unsetSignature } });
      return actionHashSchema.parse(await call("publish_capability", payload));
    },
    /** Every valid capability version, newest first. */
    async listCapabilities(): Promise<CapabilityRecord[]> {
      return recordList(capabilityRecordSchema).parse(await call("list_capabilities", null));
    },
    /** One record per node: its latest valid capability. */
    async listNodes(): Promise<CapabilityRecord[]> {
      return recordList(capabilityRecordSchema).parse(await call("list_nodes", null));
    },
    async getCapability(agent: Uint8Array): Promise<CapabilityRecord | null> {
      return capabilityRecordSchema.nullable().parse(await call("get_capability", agent));
    },
    /** This node's latest capability from its own source chain (no network round trip). */
    async getMyCapability(): Promise<CapabilityRecord | null> {
      return capabilityRecordSchema.nullable().parse(await call("get_my_capability", null));
    },
    /** Nodes whose latest capability holds the model with this sha256 or CID. */
    async getNodesWithModel(modelKey: string): Promise<CapabilityRecord[]> {
      return recordList(capabilityRecordSchema).parse(await call("get_nodes_with_model", modelKey));
    },
    async publishHeartbeat(input: HeartbeatInput): Promise<Uint8Array> {
      const payload = heartbeatSchema.omit({ agent: true }).parse(input);
      return actionHashSchema.parse(await call("publish_heartbeat", payload));
    },
    /** Nodes heard from at or after `sinceMicros` (at most 120 minutes back). */
    async getNodesSince(sinceMicros: number): Promise<NodeStatus[]> {
      return recordList(nodeStatusSchema).parse(await call("get_nodes_since", sinceMicros));
    },
    /**
     * Every node's latest capability and newest heartbeat since `sinceMicros`, in one call.
     * `localOnly` reads this node's own store: fast, and never waits on a dead peer.
     */
    async getMeshView(sinceMicros: number, localOnly: boolean): Promise<MeshView> {
      return meshViewSchema.parse(await call("get_mesh_view", { since: timestampSchema.parse(sinceMicros), local_only: localOnly }));
    },
    /** Diagnostic: the links and records one getMeshView read touches. */
    async getMeshViewReadCost(sinceMicros: number, localOnly: boolean): Promise<ReadCost> {
      return readCostSchema.parse(await call("get_mesh_view_read_cost", { since: timestampSchema.parse(sinceMicros), local_only: localOnly }));
    },
    async validationStatus(hash: Uint8Array) {
      return validationStatusSchema.parse(await call("validation_status", hash));
    },
  };
}
