import type { JobSummary } from "@ripple-mesh/api-types";
import { formatAgo, formatDuration, formatPercent, truncate } from "../lib/format.ts";
import { hrefOf } from "../lib/route.ts";
import { JobStatusPill } from "./JobStatusPill.tsx";

/** This node's recent MOE runs, newest first; a running one updates live. */
export function JobList(props: { jobs: JobSummary[]; now: number }) {
  return (
    <div class="table-wrap">
      <table class="table" data-testid="job-list">
        <thead>
          <tr>
            <th>Status</th>
            <th>Prompt</th>
            <th>Answer</th>
            <th class="num">Consensus</th>
            <th class="num">Experts</th>
            <th>Peers</th>
            <th>Started</th>
            <th class="num">Took</th>
          </tr>
        </thead>
        <tbody>
          {props.jobs.map((j) => (
            <tr key={j.trace_id} data-testid="job-row" data-trace={j.trace_id} data-status={j.status}>
              <td>
                <JobStatusPill status={j.status} />
              </td>
              <td>
                <a href={hrefOf({ page: "jobs", trace: j.trace_id })} title={j.prompt}>
                  {truncate(j.prompt, 60)}
                </a>
              </td>
              <td>{j.response !== null ? <span class="strong">{truncate(j.response, 40)}</span> : j.error ? <span class="bad">{truncate(j.error, 50)}</span> : <span class="muted">…</span>}</td>
              <td class="num">{j.consensus_score === null ? "—" : formatPercent(j.consensus_score)}</td>
              <td class="num">
                {j.answered}/{j.slots}
              </td>
              <td>{j.peers.join(", ") || "—"}</td>
              <td>{formatAgo(j.started_ms, props.now)}</td>
              <td class="num">{formatDuration((j.finished_ms ?? props.now) - j.started_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
