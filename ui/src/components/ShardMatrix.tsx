import type { ShardCell, ShardHold, ShardMatrix as Matrix, ShardRow } from "../lib/shards.ts";
import { formatBytes, shortKey } from "../lib/format.ts";

const holdText: Record<ShardHold, string> = { loaded: "loaded", "on-disk": "on disk", served: "served", none: "" };
const holdTitle: Record<ShardHold, string> = {
  loaded: "in memory on this node",
  "on-disk": "registered on this node, not loaded",
  served: "advertised by this peer",
  none: "not held",
};

function cellText(c: ShardCell): string {
  return [holdText[c.hold], c.pinned ? "pinned" : ""].filter(Boolean).join(" · ");
}

function cellTitle(c: ShardCell): string {
  return c.pinned ? `${holdTitle[c.hold]}; pins the GGUF in IPFS (provider record)` : holdTitle[c.hold];
}

function IpfsCopies(props: { row: ShardRow }) {
  const { ipfsReplicas, minProviders, underReplicated } = props.row;
  if (ipfsReplicas === null) return <span class="muted" title="not published to IPFS (ripple models publish NAME)">—</span>;
  return (
    <span class={underReplicated ? "warn" : ""} title={`${ipfsReplicas} online peers pin it; the storage policy wants at least ${minProviders}`}>
      {ipfsReplicas}/{minProviders}
    </span>
  );
}

/** Models × peers, like a block-coverage map: where each model lives, who pins it, how many replicas it has. */
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
            <th class="num" title="online peers serving the model">Replicas</th>
            <th class="num" title="online peers pinning its GGUF in IPFS / the storage policy's minimum">IPFS copies</th>
            <th>CID</th>
            <th>Pinned here</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.sha256 ?? `name:${r.model}`} data-testid="shard-row" data-model={r.model} data-sha256={r.sha256 ?? ""}>
              <td title={r.sha256 ? `sha256 ${r.sha256}` : "advertised without a sha256"}>
                <span class="strong">{r.model}</span>
                {r.aliases.length > 0 ? (
                  <div class="muted small" data-testid="shard-aliases">
                    also named {r.aliases.join(", ")}
                  </div>
                ) : null}
              </td>
              <td class="num">{r.bytes === null ? "—" : formatBytes(r.bytes)}</td>
              {r.cells.map((c, i) => (
                <td key={peers[i]!.agent} class={`cell cell-${c.hold}${c.pinned ? " cell-pinned" : ""}`} title={cellTitle(c)} data-testid="shard-cell" data-peer={peers[i]!.name}>
                  {cellText(c)}
                </td>
              ))}
              <td class="num" title={`${r.holders} peers advertise it, ${r.replicas} of them online`}>
                <span class={r.replicas === 0 ? "bad" : r.replicas === 1 ? "warn" : ""}>{r.replicas}</span>
              </td>
              <td class="num" data-testid="ipfs-copies">
                <IpfsCopies row={r} />
              </td>
              <td class="mono" title={r.cid ?? "not in IPFS yet"} data-testid="shard-cid">
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
