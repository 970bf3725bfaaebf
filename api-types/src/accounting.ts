// `GET /v1/accounting` and `ripple accounting`: work each agent served, as resource_mesh counts it
// (get_agent_totals: one accounting record per counted assignment, the current epoch's assignee
// only, never an agent's own job).

export interface AgentAccounting {
  /** The agent key (base64). */
  agent: string;
  /** Its advertised name, or null for an agent not in this node's peer view. */
  name: string | null;
  self: boolean;
  /** Counted assignments (one accounting record each). */
  records: number;
  tokens: number;
  served_ms: number;
}

export interface AccountingView {
  /** This node first, then its peers by name (or the one agent asked for). */
  agents: AgentAccounting[];
  /** Results and accounting this node produced that wait to be written to resource_mesh. */
  pending_writes: number;
}
