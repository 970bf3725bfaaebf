import type { ShardCell, ShardMatrix as Matrix } from "../lib/shards.ts";
import { formatBytes, shortKey } from "../lib/format.ts";

const cellText: Record<ShardCell, string> = { loaded: "loaded", "on-disk": "on disk", served: "served", none: "" };
const cellTitle: Record<ShardCell, string> = {
  loaded: "in memory on this node",
  "on-disk": "registered on this node, not loaded",
  served: "advertised by this peer",
  none: "not held",
};

/** Models × peers, like a block-coverage map: where each model lives and how many online replicas it has. */
export function ShardMatrix(props: { matrix: Matrix }) {
  const { peers, rows } = props.matrix;
  return (
    <div class="table-wrap">
      <table class="table matrix" data-testid="shard-matrix">
        <thead>
          <tr>
            <th>Model</th>
            <th class="num">Size</th>
            {peers.map((p) => (
              <th key={p.agent} class={`peer-col ${p.online || p.self ? "" : "col-off"}`} title={p.online || p.self ? "online" : "offline"}>
                {p.name}
                {p.self ? " (you)" : ""}
              </th>
            ))}
            <th class="num">Replicas</th>
            <th>CID</th>
            <th>Pinned</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.model} data-testid="shard-row" data-model={r.model}>
              <td class="strong">{r.model}</td>
              <td class="num">{formatBytes(r.bytes)}</td>
              {r.cells.map((c, i) => (
                <td key={peers[i]!.agent} class={`cell cell-${c}`} title={cellTitle[c]}>
                  {cellText[c]}
                </td>
              ))}
              <td class="num" title={`${r.holders} peers advertise it, ${r.replicas} of them online`}>
                <span class={r.replicas === 0 ? "bad" : r.replicas === 1 ? "warn" : ""}>{r.replicas}</span>
              </td>
              <td class="mono" title={r.cid ?? "not in IPFS yet"}>
                {r.cid ? shortKey(r.cid, 8, 6) : "—"}
              </td>
              <td>{r.pinned === null ? "—" : r.pinned ? "yes" : "no"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
