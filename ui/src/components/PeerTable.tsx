import type { PeerInfo } from "../api/types.ts";
import { formatAgo, formatRate, shortKey } from "../lib/format.ts";
import { Meter } from "./Meter.tsx";
import { StatusPill } from "./StatusPill.tsx";

function gpuText(p: PeerInfo): string {
  if (!p.gpu) return "none";
  return `${p.gpu.vendor} ${p.gpu.model}${p.gpu.vram_gb ? ` (${p.gpu.vram_gb} GB)` : ""}`;
}

/** Every node of the mesh with its machine, models, live load and liveness. */
export function PeerTable(props: { peers: PeerInfo[]; now: number }) {
  return (
    <div class="table-wrap">
      <table class="table" data-testid="peer-table">
        <thead>
          <tr>
            <th>Status</th>
            <th>Name</th>
            <th>Class</th>
            <th>CPU / RAM / GPU</th>
            <th>Models</th>
            <th>Load</th>
            <th class="num">Speed</th>
            <th class="num">Jobs</th>
            <th>Last heard</th>
          </tr>
        </thead>
        <tbody>
          {props.peers.map((p) => (
            <tr key={p.agent} data-testid="peer-row" data-peer={p.name} data-online={String(p.online)} class={p.self ? "row-self" : p.online ? "" : "row-off"}>
              <td>
                <StatusPill tone={p.online ? "good" : "bad"} label={p.online ? "online" : "offline"} title={p.reason} />
              </td>
              <td>
                <div class="strong">
                  {p.name} {p.self ? <span class="tag">this node</span> : null}
                </div>
                <div class="mono muted" title={p.agent}>
                  {shortKey(p.agent)}
                </div>
              </td>
              <td>{p.hardwareClass}</td>
              <td>
                <div>
                  {p.cpuCores} × {p.cpuArch} · {Math.round(p.ramGb)} GB RAM
                </div>
                <div class="muted">GPU: {gpuText(p)}</div>
              </td>
              <td>{p.models.length ? <ul class="plain">{p.models.map((m) => <li key={m}>{m}</li>)}</ul> : <span class="muted">none</span>}</td>
              <td>
                <Meter fraction={p.load.cpu_percent / 100} label={`CPU ${Math.round(p.load.cpu_percent)}%`} />
                <Meter fraction={p.load.memory_percent / 100} label={`RAM ${Math.round(p.load.memory_percent)}%`} />
              </td>
              <td class="num">{formatRate(p.tokensPerSecond)}</td>
              <td class="num">{p.activeJobs}</td>
              <td>
                <div>{p.self ? "—" : formatAgo(p.lastHeardMs, props.now)}</div>
                <div class="muted small">{p.reason}</div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
