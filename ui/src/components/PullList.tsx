import { formatAgo, formatBytes, shortKey, truncate } from "../lib/format.ts";
import type { PullView } from "../lib/pulls.ts";
import { Meter } from "./Meter.tsx";
import { StatusPill } from "./StatusPill.tsx";

function PullStatusPill(props: { status: PullView["status"] }) {
  if (props.status === "pulling") return <StatusPill tone="busy" label="pulling" />;
  if (props.status === "done") return <StatusPill tone="good" label="pulled" />;
  return <StatusPill tone="bad" label="failed" />;
}

/** This node's model pulls since the page opened, newest first: progress, speed, or why one failed. */
export function PullList(props: { pulls: PullView[]; now: number }) {
  return (
    <div class="table-wrap">
      <table class="table" data-testid="pull-list">
        <thead>
          <tr>
            <th>Status</th>
            <th>Model</th>
            <th>Progress</th>
            <th class="num">MB/s</th>
            <th>CID</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {props.pulls.map((p) => (
            <tr key={p.name} data-testid="pull-row" data-model={p.name} data-status={p.status}>
              <td>
                <PullStatusPill status={p.status} />
              </td>
              <td>{p.name}</td>
              <td>
                {p.status === "failed" ? (
                  <span class="bad" title={`${p.error ?? ""} ${p.fix ?? ""}`}>
                    {truncate(p.error ?? "failed", 60)}
                  </span>
                ) : (
                  <Meter fraction={p.total ? p.bytes / p.total : null} label={`${formatBytes(p.bytes)} of ${formatBytes(p.total)}`} tone="good" />
                )}
              </td>
              <td class="num">{p.mbps ?? "—"}</td>
              <td title={p.cid ?? ""}>{p.cid ? shortKey(p.cid) : "—"}</td>
              <td>{formatAgo(p.updatedAt, props.now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
