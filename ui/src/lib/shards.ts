// The Shards page's matrix: one row per model, one column per peer. Each cell says what that peer
// has of the model — "loaded" (in memory; known for this node only), "on disk" (registered here),
// "served" (the peer advertises it in its capability) or nothing — and whether the peer pins the
// model's GGUF in IPFS (it wrote a provider record for the CID in artifact_index). Replicas count the
// online peers serving it; IPFS copies count the online providers of its CID (GET /v1/shards).
import type { LocalModel, PeerInfo, ShardRow as IpfsShard } from "@ripple-mesh/api-types";

export type ShardHold = "loaded" | "on-disk" | "served" | "none";

export interface ShardCell {
  hold: ShardHold;
  /** This peer provides the model's CID in IPFS. */
  pinned: boolean;
}

export interface ShardRow {
  model: string;
  bytes: number | null;
  cells: ShardCell[];
  /** Online peers that serve it (this node included). */
  replicas: number;
  /** All peers that advertise it, online or not. */
  holders: number;
  /** Null while the model is not in IPFS. */
  cid: string | null;
  /** Whether this node pins it (null: not in IPFS). */
  pinned: boolean | null;
  /** Online providers of the CID, and the storage policy's minimum (null: not in IPFS). */
  ipfsReplicas: number | null;
  minProviders: number | null;
  underReplicated: boolean;
}

export interface ShardMatrix {
  peers: Array<Pick<PeerInfo, "agent" | "name" | "self" | "online">>;
  rows: ShardRow[];
}

type PeerCols = Array<Pick<PeerInfo, "agent" | "name" | "self" | "online" | "models">>;

export function buildShardMatrix(peers: PeerCols, localModels: LocalModel[] | null, ipfs: IpfsShard[] | null = null): ShardMatrix {
  const local = new Map((localModels ?? []).map((m) => [m.name, m]));
  const names = new Set<string>(local.keys());
  for (const p of peers) for (const m of p.models) names.add(m);
  for (const s of ipfs ?? []) names.add(s.name);
  const rows = [...names].map((model) => shardRow(model, peers, local.get(model), shardFor(model, local.get(model), ipfs ?? [])));
  rows.sort((a, b) => b.replicas - a.replicas || a.model.localeCompare(b.model));
  return { peers: peers.map(({ agent, name, self, online }) => ({ agent, name, self, online })), rows };
}

/** A model may be registered under several CIDs: prefer this node's own file, then the best replicated. */
function shardFor(model: string, mine: LocalModel | undefined, ipfs: IpfsShard[]): IpfsShard | undefined {
  const candidates = ipfs.filter((s) => s.name === model);
  return candidates.find((s) => mine && s.sha256 === mine.sha256) ?? [...candidates].sort((a, b) => b.replicas - a.replicas)[0];
}

function shardRow(model: string, peers: PeerCols, mine: LocalModel | undefined, shard: IpfsShard | undefined): ShardRow {
  const providers = new Set((shard?.providers ?? []).map((p) => p.agent));
  const cells = peers.map((p): ShardCell => {
    const hold: ShardHold = p.self && mine ? (mine.loaded ? "loaded" : "on-disk") : p.models.includes(model) ? "served" : "none";
    return { hold, pinned: providers.has(p.agent) || Boolean(p.self && shard?.local) };
  });
  const serves = (i: number) => cells[i]!.hold !== "none";
  return {
    model,
    bytes: mine?.bytes ?? shard?.size ?? null,
    cells,
    replicas: peers.filter((p, i) => serves(i) && (p.online || p.self)).length,
    holders: peers.filter((_, i) => serves(i)).length,
    cid: shard?.cid ?? null,
    pinned: shard ? shard.local : null,
    ipfsReplicas: shard?.replicas ?? null,
    minProviders: shard?.minProviders ?? null,
    underReplicated: shard?.underReplicated ?? false,
  };
}
