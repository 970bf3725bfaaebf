// Models registered in IPFS (GET /v1/shards, `ripple models shards`, the UI's Shards page).

/** A peer that says (in artifact_index) it pins a CID; `verified` is null unless a check was asked for. */
export interface ProviderView {
  agent: string;
  name: string | null;
  peerId: string | null;
  online: boolean;
  self: boolean;
  /** When the agent's provider record was written (its own clock: a claim, used only to order providers). */
  sinceMs: number;
  /** null: not checked (verify was not asked for). */
  verified: boolean | null;
  reason: string | null;
}

/** One model registered in IPFS: its CID, who pins it, and its replica count. */
export interface ShardRow {
  name: string;
  cid: string;
  sha256: string;
  size: number;
  publishedBy: string[];
  providers: ProviderView[];
  /** Providers online (and verified, when verification was asked for). */
  replicas: number;
  minProviders: number;
  underReplicated: boolean;
  /** This node pins it. */
  local: boolean;
}
