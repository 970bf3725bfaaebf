// The Shards page's matrix: one row per model, one column per peer, and in each cell what that peer
// has of it — "loaded" (in memory; known for this node only), "on disk" (registered here), "served"
// (a peer advertises it in its capability), or nothing. Replicas count the online peers holding it.
// CID and pinning come from the node's model list once the artifacts work provides them.
import type { LocalModel, PeerInfo } from "../api/types.ts";

export type ShardCell = "loaded" | "on-disk" | "served" | "none";

export interface ShardRow {
  model: string;
  bytes: number | null;
  cells: ShardCell[];
  /** Online peers that hold it (this node included). */
  replicas: number;
  /** All peers that advertise it, online or not. */
  holders: number;
  cid: string | null;
  pinned: boolean | null;
}

export interface ShardMatrix {
  peers: Array<Pick<PeerInfo, "agent" | "name" | "self" | "online">>;
  rows: ShardRow[];
}

export function buildShardMatrix(peers: Array<Pick<PeerInfo, "agent" | "name" | "self" | "online" | "models">>, localModels: LocalModel[] | null): ShardMatrix {
  const local = new Map((localModels ?? []).map((m) => [m.name, m]));
  const names = new Set<string>(local.keys());
  for (const p of peers) for (const m of p.models) names.add(m);
  const rows = [...names].map((model): ShardRow => {
    const lm = local.get(model);
    const cells = peers.map((p): ShardCell => {
      if (p.self && lm) return lm.loaded ? "loaded" : "on-disk";
      return p.models.includes(model) ? "served" : "none";
    });
    const holds = (i: number) => cells[i] !== "none";
    return {
      model,
      bytes: lm?.bytes ?? null,
      cells,
      replicas: peers.filter((p, i) => holds(i) && (p.online || p.self)).length,
      holders: peers.filter((_, i) => holds(i)).length,
      cid: lm?.cid ?? null,
      pinned: lm?.pinned ?? null,
    };
  });
  rows.sort((a, b) => b.replicas - a.replicas || a.model.localeCompare(b.model));
  return { peers: peers.map(({ agent, name, self, online }) => ({ agent, name, self, online })), rows };
}
