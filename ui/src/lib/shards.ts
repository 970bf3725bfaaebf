// The Shards page's matrix: one row per model file, one column per peer. A row is a file, known by
// its sha256: the same GGUF under two names (a model pulled as `gemma-copy` is bob's
// `gemma-3-270m-q4_k_m`) is one row, named as this node names it (else as most peers do), with the
// other names listed. Each cell says what that peer has of the file — "loaded" (in memory; known for
// this node only), "on disk" (registered here), "served" (the peer advertises it in its capability)
// or nothing — and whether the peer pins the file in IPFS (it wrote a provider record for the CID in
// artifact_index). Replicas count the online peers serving it; IPFS copies count the online
// providers of its CID (GET /v1/shards). A peer that advertises a model without its sha256 is
// matched by name.
import type { LocalModel, PeerInfo, ShardRow as IpfsShard } from "@ripple-mesh/api-types";

export type ShardHold = "loaded" | "on-disk" | "served" | "none";

export interface ShardCell {
  hold: ShardHold;
  /** This peer provides the model's CID in IPFS. */
  pinned: boolean;
}

export interface ShardRow {
  /** The name shown: this node's, else the one most peers use. */
  model: string;
  /** The other names the same file goes by, sorted. */
  aliases: string[];
  /** The file's sha256; null when no peer said it. */
  sha256: string | null;
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

type PeerCols = Array<Pick<PeerInfo, "agent" | "name" | "self" | "online" | "models" | "modelRefs">>;

/** One file, and every name it was seen under, with how often. */
interface ModelFile {
  sha256: string | null;
  names: Map<string, number>;
}

export function buildShardMatrix(peers: PeerCols, localModels: LocalModel[] | null, ipfs: IpfsShard[] | null = null): ShardMatrix {
  const local = localModels ?? [];
  const files = groupFiles(peers, local, ipfs ?? []);
  const rows = files.map((file) => shardRow(file, peers, local, ipfs ?? []));
  rows.sort((a, b) => b.replicas - a.replicas || a.model.localeCompare(b.model));
  return { peers: peers.map(({ agent, name, self, online }) => ({ agent, name, self, online })), rows };
}

/** The refs a peer advertises: with their sha256 where given (`modelRefs`), else its names alone. */
function refsOf(peer: PeerCols[number]): Array<{ name: string; sha256: string | null }> {
  return peer.modelRefs.length > 0 ? peer.modelRefs : peer.models.map((name) => ({ name, sha256: null }));
}

/** Every file seen, by sha256; a name seen without one joins the file that has that name, else stands alone. */
function groupFiles(peers: PeerCols, local: LocalModel[], ipfs: IpfsShard[]): ModelFile[] {
  const bySha = new Map<string, ModelFile>();
  const unhashed: string[] = [];
  const see = (name: string, sha256: string | null) => {
    if (sha256 === null) return void unhashed.push(name);
    const file = bySha.get(sha256) ?? { sha256, names: new Map() };
    file.names.set(name, (file.names.get(name) ?? 0) + 1);
    bySha.set(sha256, file);
  };
  for (const m of local) see(m.name, m.sha256);
  // This node's own models come from its model list when it has one, not from what it advertises.
  for (const p of peers.filter((p) => !(p.self && local.length > 0))) for (const ref of refsOf(p)) see(ref.name, ref.sha256);
  for (const s of ipfs) see(s.name, s.sha256);
  const files = [...bySha.values()];
  const byName = new Map<string, ModelFile>();
  for (const name of unhashed) {
    if (files.some((f) => f.names.has(name)) || byName.has(name)) continue;
    byName.set(name, { sha256: null, names: new Map([[name, 1]]) });
  }
  return [...files, ...byName.values()];
}

/** Whether a peer's ref is this file: the same sha256, or (a ref without one) one of its names. */
function isFile(ref: { name: string; sha256: string | null }, file: ModelFile): boolean {
  return ref.sha256 !== null ? ref.sha256 === file.sha256 : file.names.has(ref.name);
}

/** This node's name for the file, else the name most peers use (alphabetical on a tie). */
function displayName(file: ModelFile, mine: LocalModel | undefined): string {
  if (mine) return mine.name;
  return [...file.names].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
}

/** The file's CID: this node's pin first, else the best replicated one. */
function shardFor(file: ModelFile, ipfs: IpfsShard[]): IpfsShard | undefined {
  const candidates = ipfs.filter((s) => (file.sha256 !== null ? s.sha256 === file.sha256 : file.names.has(s.name)));
  return candidates.find((s) => s.local) ?? [...candidates].sort((a, b) => b.replicas - a.replicas)[0];
}

function shardRow(file: ModelFile, peers: PeerCols, local: LocalModel[], ipfs: IpfsShard[]): ShardRow {
  const mine = local.find((m) => isFile(m, file));
  const shard = shardFor(file, ipfs);
  const providers = new Set((shard?.providers ?? []).map((p) => p.agent));
  const cells = peers.map((p): ShardCell => {
    const hold: ShardHold = p.self && mine ? (mine.loaded ? "loaded" : "on-disk") : refsOf(p).some((r) => isFile(r, file)) ? "served" : "none";
    return { hold, pinned: providers.has(p.agent) || Boolean(p.self && shard?.local) };
  });
  const serves = (i: number) => cells[i]!.hold !== "none";
  const model = displayName(file, mine);
  return {
    model,
    aliases: [...file.names.keys()].filter((n) => n !== model).sort(),
    sha256: file.sha256,
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
