// Per-agent accounting totals as resource_mesh counts them (get_agent_totals), for this node and
// the peers in its view: what `GET /v1/accounting` and `ripple accounting` show.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import type { AccountingView, AgentAccounting, PeerInfo } from "@ripple-mesh/api-types";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";

export interface MeshAccountingOptions {
  zomes: ZomeCaller;
  agentPubKey: Uint8Array;
  peers: () => PeerInfo[];
  /** Results this node has not written yet (worker/result-writer.ts). */
  pendingWrites: () => number;
}

export class MeshAccounting {
  constructor(private readonly opts: MeshAccountingOptions) {}

  /** Every known agent's totals (this node first), or only `agent`'s. */
  async view(q: { agent?: string } = {}): Promise<AccountingView> {
    const self = encodeHashToBase64(this.opts.agentPubKey);
    const peers = this.opts.peers();
    const names = new Map(peers.map((p) => [p.agent, p.name]));
    const agents = q.agent !== undefined ? [q.agent] : [self, ...peers.filter((p) => p.agent !== self).sort((a, b) => a.name.localeCompare(b.name)).map((p) => p.agent)];
    const mesh = resourceMesh(this.opts.zomes);
    // One zome call per agent, side by side: each reads that agent's records (from the network where
    // this node does not hold them), so one slow authority does not add up across every agent.
    const totals: AgentAccounting[] = await Promise.all(
      [...new Set(agents)].map(async (agent) => {
        const t = await mesh.getAgentTotals(decodeHashFromBase64(agent));
        return { agent, name: names.get(agent) ?? null, self: agent === self, records: t.records, tokens: t.tokens, served_ms: t.served_ms };
      }),
    );
    return { agents: totals, pending_writes: this.opts.pendingWrites() };
  }
}
