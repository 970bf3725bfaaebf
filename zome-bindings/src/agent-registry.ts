// Types and typed calls for the agent_registry DNA. Limits mirror the integrity zome's
// (dnas/agent_registry/zomes/integrity/.../node_capability.rs) so bad input fails before a call.
import { z } from "zod";
import { actionHashSchema, agentPubKeySchema, timestampSchema } from "./hashes.ts";
import type { ZomeCaller } from "./zome-caller.ts";

export const agentRegistryRole = "agent_registry";
const zome = "agent_registry";

export const nodeCapabilitySchema = z.strictObject({
  agent: agentPubKeySchema,
  agent_name: z.string().min(1).max(64),
  hardware_class: z.string().min(1).max(32),
  cpu_cores: z.number().int().min(1).max(4096),
  ram_gb: z.number().positive().max(65536),
});
export type NodeCapability = z.infer<typeof nodeCapabilitySchema>;

export const capabilityRecordSchema = z.strictObject({
  action_hash: actionHashSchema,
  author: agentPubKeySchema,
  timestamp: timestampSchema,
  capability: nodeCapabilitySchema,
});
export type CapabilityRecord = z.infer<typeof capabilityRecordSchema>;

export function agentRegistry(conductor: ZomeCaller) {
  return {
    /** Publish this node's capability; returns the record's action hash. */
    async publishCapability(capability: NodeCapability): Promise<Uint8Array> {
      const payload = nodeCapabilitySchema.parse(capability);
      const hash = await conductor.callZome({ role: agentRegistryRole, zome, fn: "publish_capability", payload });
      return actionHashSchema.parse(hash);
    },
    /** Every valid capability the network knows of. */
    async listCapabilities(): Promise<CapabilityRecord[]> {
      const records = await conductor.callZome({ role: agentRegistryRole, zome, fn: "list_capabilities", payload: null });
      return z.array(capabilityRecordSchema).parse(records);
    },
  };
}
