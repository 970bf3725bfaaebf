// Which live peer runs an expert: one that advertises the model, preferring the least busy per unit
// of measured speed, and spreading one job's slots over several peers (that is the point of a mesh:
// five experts on one laptop run one after another). Deterministic for the same view.
import type { PeerInfo } from "../mesh/peer-view.ts";

export interface PlacementInput {
  model: string;
  /** Test-only experts run anywhere (they load no model). */
  anyPeer: boolean;
  peers: PeerInfo[];
  /** Slots of this job already placed, per agent. */
  planned: Map<string, number>;
  /** Agents that already failed this slot. */
  exclude: Set<string>;
}

export function peersServing(model: string, peers: PeerInfo[]): PeerInfo[] {
  return peers.filter((p) => p.online && p.models.includes(model));
}

export function placeExpert(input: PlacementInput): PeerInfo | undefined {
  const candidates = (input.anyPeer ? input.peers.filter((p) => p.online) : peersServing(input.model, input.peers)).filter((p) => !input.exclude.has(p.agent));
  const cost = (p: PeerInfo) => (1 + p.activeJobs + (input.planned.get(p.agent) ?? 0)) / Math.max(p.tokensPerSecond, 1);
  return candidates.sort((a, b) => cost(a) - cost(b) || Number(b.self) - Number(a.self) || a.agent.localeCompare(b.agent))[0];
}
