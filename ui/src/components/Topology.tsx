import type { PeerInfo } from "@ripple-mesh/api-types";
import { layoutTopology } from "../lib/topology.ts";

/** The mesh as this node sees it: itself in the middle (highlighted), a line to each peer, dashed when offline. */
export function Topology(props: { peers: PeerInfo[] }) {
  const layout = layoutTopology(props.peers, 520, 300);
  const at = new Map(layout.nodes.map((n) => [n.agent, n]));
  return (
    <svg class="topology" viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label="Mesh topology" data-testid="topology">
      {layout.edges.map((e) => {
        const a = at.get(e.from)!;
        const b = at.get(e.to)!;
        return <line key={`${e.from}-${e.to}`} x1={a.x} y1={a.y} x2={b.x} y2={b.y} class={e.online ? "edge edge-on" : "edge edge-off"} />;
      })}
      {layout.nodes.map((n) => (
        <g key={n.agent} class={`tnode ${n.self ? "tnode-self" : ""} ${n.online ? "tnode-on" : "tnode-off"}`} data-peer={n.name} data-online={String(n.online)}>
          <title>{`${n.name}${n.self ? " (this node)" : ""}: ${n.online ? "online" : "offline"}`}</title>
          {n.self ? <circle cx={n.x} cy={n.y} r={n.r + 6} class="halo" /> : null}
          <circle cx={n.x} cy={n.y} r={n.r} />
          <text x={n.x} y={n.y + n.r + 15} text-anchor="middle">
            {n.name}
            {n.self ? " (you)" : ""}
          </text>
        </g>
      ))}
    </svg>
  );
}
