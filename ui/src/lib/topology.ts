// Where the nodes of the Peers page's topology view go: this node in the middle, its peers evenly
// on a circle around it (the first one at the top, in the order given), one edge from this node to
// each peer — what this node sees of the mesh. Pure, so it is unit-tested.
import type { PeerInfo } from "@ripple-mesh/api-types";

export interface TopologyNode {
  agent: string;
  name: string;
  self: boolean;
  online: boolean;
  x: number;
  y: number;
  /** Circle radius in the same units. */
  r: number;
}

export interface TopologyEdge {
  from: string;
  to: string;
  online: boolean;
}

export interface TopologyLayout {
  width: number;
  height: number;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

type PeerLike = Pick<PeerInfo, "agent" | "name" | "self" | "online">;

export function layoutTopology(peers: PeerLike[], width = 480, height = 320): TopologyLayout {
  const self = peers.find((p) => p.self);
  const others = peers.filter((p) => p !== self);
  const cx = width / 2;
  const cy = height / 2;
  // Smaller circles when there are many peers, so neighbours do not overlap.
  const r = others.length > 16 ? 10 : others.length > 8 ? 14 : 20;
  const ring = Math.max(0, Math.min(width, height) / 2 - r - 22);
  const nodes: TopologyNode[] = [];
  if (self) nodes.push({ agent: self.agent, name: self.name, self: true, online: true, x: cx, y: cy, r: r + 6 });
  others.forEach((p, i) => {
    // With no "self" (not joined yet) a lone peer still sits in the middle.
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, others.length);
    const alone = !self && others.length === 1;
    nodes.push({
      agent: p.agent,
      name: p.name,
      self: false,
      online: p.online,
      x: round(alone ? cx : cx + ring * Math.cos(angle)),
      y: round(alone ? cy : cy + ring * Math.sin(angle)),
      r,
    });
  });
  const edges = self ? others.map((p) => ({ from: self.agent, to: p.agent, online: p.online })) : [];
  return { width, height, nodes, edges };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
