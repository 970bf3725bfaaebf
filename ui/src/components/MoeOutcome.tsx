import type { ComponentChildren } from "preact";
import type { MoeResult } from "@ripple-mesh/api-types";
import { formatDuration, formatPercent, shortKey } from "../lib/format.ts";
import { KeyValue } from "./KeyValue.tsx";
import { Meter } from "./Meter.tsx";
import { VoteTable } from "./VoteTable.tsx";

const diversityText = {
  ok: "ok: no single peer could decide the vote",
  insufficient: "insufficient: one peer answered more than a minority of the slots (too few peers), so this is not a consensus of independent peers",
  local: "local: every answer came from this node",
};

/** The merged answer of an MOE job, its consensus, ids, and the votes behind it. */
export function MoeOutcome(props: { result: MoeResult }) {
  const r = props.result;
  return (
    <div class="outcome">
      <div class="answer" data-testid="final-answer">
        {r.response}
      </div>
      <KeyValue
        rows={[
          ["Consensus", <Meter key="m" fraction={r.consensus_score} label={`${formatPercent(r.consensus_score)} ${r.consensus_reached ? "(reached)" : "(not reached)"}`} tone={r.consensus_reached ? "good" : "warn"} />],
          ["Task type", r.task_type],
          ...(r.diversity
            ? [["Diversity", <span data-testid="diversity" class={r.diversity === "insufficient" ? "warn" : ""}>{diversityText[r.diversity]}</span>] as [string, ComponentChildren]]
            : []),
          ["Wall time", formatDuration(r.wall_ms)],
          ["Trace id", <span class="mono" data-testid="trace-id">{r.trace_id}</span>],
          ["Job entry", <span class="mono" title={r.job ?? ""}>{r.job ? shortKey(r.job, 10, 8) : "—"}</span>],
        ]}
      />
      <h3>Votes</h3>
      <VoteTable result={r} />
    </div>
  );
}
