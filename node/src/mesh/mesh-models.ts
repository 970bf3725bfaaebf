// The models a mesh serves, by name, from its online nodes' adverts: how many nodes serve each, and
// which file (sha256) the name stands for. This node's own file comes from its model store (its
// advert may lag); a name advertised with different files by different nodes lists every variant.
import type { MeshModel, PeerInfo } from "@ripple-mesh/api-types";

/** `localSha256(name)`: the sha256 of this node's own model of that name (its model store), if it has one. */
export function meshModels(peers: ReadonlyArray<Pick<PeerInfo, "online" | "self" | "models" | "modelRefs">>, localSha256: (name: string) => string | undefined = () => undefined): MeshModel[] {
  const byName = new Map<string, { name: string; nodes: number; local: boolean; hashes: Map<string, number> }>();
  for (const peer of peers.filter((p) => p.online)) {
    for (const name of new Set(peer.models)) {
      const entry = byName.get(name) ?? { name, nodes: 0, local: false, hashes: new Map<string, number>() };
      entry.nodes++;
      entry.local ||= peer.self;
      const advertised = (peer.self ? localSha256(name) : undefined) ?? (peer.modelRefs ?? []).find((r) => r.name === name)?.sha256 ?? null;
      if (advertised) entry.hashes.set(advertised, (entry.hashes.get(advertised) ?? 0) + 1);
      byName.set(name, entry);
    }
  }
  return [...byName.values()]
    .map(({ name, nodes, local, hashes }) => {
      const sha256Variants = [...hashes].map(([sha256, n]) => ({ sha256, nodes: n })).sort((a, b) => b.nodes - a.nodes || a.sha256.localeCompare(b.sha256));
      const own = local ? localSha256(name) : undefined;
      return { name, sha256: own ?? sha256Variants[0]?.sha256 ?? "", sha256Variants, nodes, local };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
