import type { MoeResult } from "@ripple-mesh/api-types";
import { formatDuration, truncate } from "../lib/format.ts";

/** Each expert's vote: who ran it where, what it answered, whether it agreed, and how long it took. */
export function VoteTable(props: { result: MoeResult }) {
  const { model_votes: votes, failed_slots: failed } = props.result;
  const rejected = props.result.rejected_answers ?? [];
  const cancelled = props.result.cancelled_slots ?? [];
  return (
    <div class="table-wrap">
      <table class="table" data-testid="votes">
        <thead>
          <tr>
            <th class="num">Slot</th>
            <th>Expert</th>
            <th>Model</th>
            <th>Peer</th>
            <th>Vote</th>
            <th>Agreed</th>
            <th class="num">Confidence</th>
            <th class="num">Weight</th>
            <th class="num">Latency</th>
          </tr>
        </thead>
        <tbody>
          {votes.map((v) => (
            <tr key={`${v.slot}-${v.epoch}`} data-testid="vote-row" data-agreed={String(v.agreed)}>
              <td class="num">
                {v.slot}
                {v.epoch > 1 ? <span class="muted small"> (epoch {v.epoch})</span> : null}
              </td>
              <td>{v.expert}</td>
              <td class="muted">{v.model}</td>
              <td>{v.peer}</td>
              <td title={v.output}>
                <span class="vote-text">{truncate(v.output, 80) || "(empty)"}</span>
                <div class="mono muted small" title="sha256 of the response">
                  {v.response_hash.slice(0, 12)}
                </div>
              </td>
              <td>{v.agreed ? <span class="good">✓ agreed</span> : <span class="bad">✗ disagreed</span>}</td>
              <td class="num" data-testid="vote-confidence" title="the probability the model gave its own answer (a worker's claim); with reducer.confidence the vote counts weight × confidence">
                {v.confidence === undefined ? "—" : v.confidence.toFixed(2)}
              </td>
              <td class="num" title="the expert's weight; a remote machine's answers together count as much as its heaviest expert">
                {v.counted_weight !== undefined && Math.abs(v.counted_weight - v.weight) > 1e-4 ? `${v.counted_weight} of ${v.weight}` : v.weight}
              </td>
              <td class="num">{formatDuration(v.latency_ms)}</td>
            </tr>
          ))}
          {rejected.map((x) => (
            <tr key={`rejected-${x.slot}-${x.epoch}`} class="row-off" data-testid="rejected-answer">
              <td class="num">
                {x.slot} <span class="muted small">(epoch {x.epoch})</span>
              </td>
              <td colSpan={8} class="bad">
                answer from {x.peer} refused: {x.reason}
              </td>
            </tr>
          ))}
          {cancelled.map((c) => (
            <tr key={`cancelled-${c.slot}`} class="row-off" data-testid="cancelled-slot">
              <td class="num">{c.slot}</td>
              <td>{c.expert}</td>
              <td colSpan={7} class="muted">
                cancelled on {c.peer}: the outcome was decided without it (quorum: early)
              </td>
            </tr>
          ))}
          {failed.map((f) => (
            <tr key={`failed-${f.slot}`} class="row-off" data-testid="failed-slot">
              <td class="num">{f.slot}</td>
              <td>{f.expert}</td>
              <td colSpan={7} class="bad">
                no answer: {f.error}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
