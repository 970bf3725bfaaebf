import type { ServedSlot } from "@ripple-mesh/api-types";
import { formatAgo, formatDuration, shortKey, truncate } from "../lib/format.ts";
import { StatusPill } from "./StatusPill.tsx";

function ServedStatusPill(props: { status: ServedSlot["status"] }) {
  if (props.status === "running") return <StatusPill tone="busy" label="running" />;
  if (props.status === "answered") return <StatusPill tone="good" label="answered" />;
  return <StatusPill tone="bad" label={props.status} />;
}

/** Slots this node served for other nodes' jobs, newest first: who asked, which expert, how it went. */
export function ServedList(props: { slots: ServedSlot[]; now: number }) {
  return (
    <div class="table-wrap">
      <table class="table" data-testid="served-list">
        <thead>
          <tr>
            <th>Status</th>
            <th>Requester</th>
            <th>Expert</th>
            <th>Job · slot</th>
            <th class="num">Tokens</th>
            <th class="num">Took</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {props.slots.map((s) => (
            <tr key={`${s.job}:${s.slot}:${s.epoch ?? "refused"}:${s.started_ms}`} data-testid="served-row" data-status={s.status} data-requester={s.requester_name ?? s.requester}>
              <td>
                <ServedStatusPill status={s.status} />
              </td>
              <td title={s.requester}>{s.requester_name ?? shortKey(s.requester)}</td>
              <td>{s.expert ?? "—"}</td>
              <td title={s.job}>
                {shortKey(s.job)} · {s.slot}
              </td>
              <td class="num">{s.tokens ?? "—"}</td>
              <td class="num">{s.status === "answered" && s.latency_ms !== null ? formatDuration(s.latency_ms) : s.reason ? <span class="bad" title={s.reason}>{truncate(s.reason, 40)}</span> : s.status === "running" ? formatDuration(props.now - s.started_ms) : "—"}</td>
              <td>{formatAgo(s.started_ms, props.now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
