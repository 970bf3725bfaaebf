import type { JobSlot } from "@ripple-mesh/api-types";
import { formatDuration } from "../lib/format.ts";

/** The experts of a job as they stream: one panel per slot with its assignee and the text so far. */
export function SlotStreams(props: { slots: JobSlot[]; running: boolean }) {
  if (props.slots.length === 0) {
    return <div class="muted" data-testid="stream">{props.running ? "Choosing experts and peers…" : "No expert was assigned."}</div>;
  }
  return (
    <div class="streams" data-testid="stream">
      {props.slots.map((s) => (
        <div key={s.slot} class={`stream ${s.answered ? "stream-done" : ""}`} data-testid="slot-stream" data-slot={s.slot}>
          <div class="stream-head">
            <span class="strong">slot {s.slot}</span> · {s.expert || "…"} <span class="muted">({s.model || "?"})</span> on <span class="strong">{s.peer || "…"}</span>
            {s.epoch > 1 ? <span class="warn"> · epoch {s.epoch}</span> : null}
            <span class="stream-state">{s.answered ? `answered in ${formatDuration(s.latency_ms)}` : props.running ? "streaming…" : "no answer"}</span>
          </div>
          {s.reassigned.map((r) => (
            <div key={r.epoch} class="warn small">
              reassigned from {r.from} to {r.to}: {r.reason}
            </div>
          ))}
          <pre class="stream-text" data-testid="slot-text">
            {s.text}
            {!s.answered && props.running ? <span class="caret" aria-hidden="true" /> : null}
          </pre>
        </div>
      ))}
    </div>
  );
}
