// Mesh status as `holochain.join_mesh` reports it: connected (the conductor knows other agents and
// their capabilities have reached us), syncing (it knows agents whose capabilities have not arrived
// yet), isolated (it knows nobody); and, with no mesh session, joining (starting or switching) or
// not-joined. The conductor's peer store is the network-level truth; agent_registry is what has synced.
import { agentRegistryRole } from "@ripple-mesh/zome-bindings";
import type { DaemonPhase, MeshState } from "@ripple-mesh/api-types";
import type { Conductor } from "../conductor/conductor.ts";

export type { MeshState };

export interface MeshStatus {
  state: MeshState;
  /** Other agents in the conductor's peer store (network level). */
  knownAgents: number;
  /** Other nodes whose capability this node holds. */
  visibleNodes: number;
  onlineNodes: number;
}

export function meshState(knownAgents: number, visibleNodes: number): MeshState {
  if (knownAgents === 0 && visibleNodes === 0) return "isolated";
  return knownAgents > visibleNodes ? "syncing" : "connected";
}

/** What a node reports while it has no mesh session: joining while it starts or switches, else in no mesh (not "isolated", which says a joined mesh knows nobody). */
export function meshWithoutSession(phase: DaemonPhase): MeshStatus {
  return { state: phase === "starting" || phase === "switching" ? "joining" : "not-joined", knownAgents: 0, visibleNodes: 0, onlineNodes: 0 };
}

/** Distinct agents other than this node in the conductor's peer store for agent_registry. */
export async function otherAgentsInPeerStore(conductor: Conductor): Promise<number> {
  const { admin } = await conductor.ready(5_000);
  const dnaHash = conductor.cellId(agentRegistryRole)[0];
  const infos = await admin.agentInfo({ dna_hashes: [dnaHash] });
  const agents = new Set<string>();
  for (const raw of infos) {
    // Each item is a signed agent info: JSON whose `agentInfo` field is itself JSON.
    const info = JSON.parse(JSON.parse(raw).agentInfo) as { agent: string; isTombstone?: boolean };
    if (!info.isTombstone) agents.add(info.agent);
  }
  return Math.max(0, agents.size - 1);
}
