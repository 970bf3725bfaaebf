import type { PeerInfo } from "@ripple-mesh/api-types";
import { formatAgo, formatRate, shortKey } from "../lib/format.ts";
import { Meter } from "./Meter.tsx";
import { StatusPill } from "./StatusPill.tsx";

function gpuText(p: PeerInfo): string {
  if (!p.gpu) return "none";
  return `${p.gpu.vendor} ${p.gpu.model}${p.gpu.vram_gb ? ` (${p.gpu.vram_gb} GB)` : ""}`;
}

/** The advertised speed (capped at the class ceiling when over it) next to what this node measured. */
function SpeedCell(props: { peer: PeerInfo }) {
  const t = props.peer.trust;
  if (!t) return <>{formatRate(props.peer.tokensPerSecond)}</>;
  const o = t.observed;
  const troubles = o ? [o.stalls >= 0.05 ? `${o.stalls.toFixed(1)} stalls` : "", o.badAnswers >= 0.05 ? `${o.badAnswers.toFixed(1)} refused answers` : "", o.failures >= 0.05 ? `${o.failures.toFixed(1)} failures` : ""].filter(Boolean) : [];
  return (
    <div data-testid="peer-speed">
      <div title="what the peer advertises (a claim)">
        {formatRate(t.advertisedTokensPerSecond)} claimed
        {t.advertisedTokensPerSecond > t.classCeiling ? <span class="warn small"> (capped at {formatRate(t.classCeiling)})</span> : null}
      </div>
      <div class="muted small" title="what this node measured on its own jobs">
        {o && o.models.length ? `observed ${o.models.map((m) => formatRate(m.tokensPerSecond)).join(", ")}` : props.peer.self ? "" : "not observed yet"}
      </div>
      {troubles.length ? <div class="bad small">{troubles.join(", ")}</div> : null}
      {t.classByHardware !== props.peer.hardwareClass ? (
        <div class="warn small" title="the class its declared CPU, RAM and GPU qualify for; the lower ceiling of the two bounds its speed">
          declares {props.peer.hardwareClass}, hardware fits {t.classByHardware}
        </div>
      ) : null}
      {t.sharesPeerIdWith.length ? <div class="bad small">same machine as {t.sharesPeerIdWith.join(", ")}</div> : null}
      {t.sharesAddressWith.length ? <div class="warn small" title="other keys connecting from the same IP address: their slots are capped together">same address as {t.sharesAddressWith.join(", ")}</div> : null}
    </div>
  );
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
                <div class="muted" data-testid="peer-backend" title="the llama.cpp backend it serves on (and measured its tokens/s on), as it advertises">
                  serves on {p.backend}
                </div>
              </td>
              <td>{p.models.length ? <ul class="plain">{p.models.map((m) => <li key={m}>{m}</li>)}</ul> : <span class="muted">none</span>}</td>
              <td>
                <Meter fraction={p.load.cpu_percent / 100} label={`CPU ${Math.round(p.load.cpu_percent)}%`} />
                <Meter fraction={p.load.memory_percent / 100} label={`RAM ${Math.round(p.load.memory_percent)}%`} />
              </td>
              <td class="num">
                <SpeedCell peer={p} />
              </td>
              <td class="num">{p.activeJobs}</td>
              <td>
                <div>{p.self ? "—" : formatAgo(p.lastHeardMs, props.now)}</div>
                <div class="muted small">{p.reason}</div>
                {p.clockAheadMs ? <div class="muted small">clock ahead by {Math.round(p.clockAheadMs / 1000)} s</div> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
