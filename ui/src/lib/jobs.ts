// Keeping the Jobs page current from /v1/events: job summaries are upserted into the list, and a
// job's progress events are applied to the record shown on its detail page (the same rules the
// daemon's history applies, so a page that followed the events shows what GET /v1/jobs/:trace says).
import type { JobRecord, JobSlot, JobSummary, MoeEvent, MoeResult } from "@ripple-mesh/api-types";

export const JOBS_KEPT = 50;

/** Newest first, one entry per trace id. */
export function upsertJob(list: JobSummary[], job: JobSummary, limit = JOBS_KEPT): JobSummary[] {
  const rest = list.filter((j) => j.trace_id !== job.trace_id);
  return [job, ...rest].sort((a, b) => b.started_ms - a.started_ms).slice(0, limit);
}

function emptySlot(n: number): JobSlot {
  return { slot: n, expert: "", model: "", peer: "", epoch: 0, text: "", truncated: false, chunks: 0, answered: false, latency_ms: null, reassigned: [] };
}

/** A new record with `event` applied (the old one is not changed). */
export function applyJobEvent(record: JobRecord, event: MoeEvent): JobRecord {
  const slots = record.slots.slice();
  let i = slots.findIndex((s) => s.slot === event.slot);
  if (i < 0) {
    slots.push(emptySlot(event.slot));
    slots.sort((a, b) => a.slot - b.slot);
    i = slots.findIndex((s) => s.slot === event.slot);
  }
  const s = { ...slots[i]! };
  switch (event.type) {
    case "moe:assigned":
      Object.assign(s, { expert: event.expert, model: event.model, peer: event.peer, epoch: event.epoch });
      break;
    case "moe:token":
      s.text += event.text;
      s.chunks++;
      break;
    case "moe:answer":
      Object.assign(s, { answered: true, latency_ms: event.latency_ms, peer: event.peer, expert: event.expert });
      break;
    case "moe:reassigned":
      s.reassigned = [...s.reassigned, { from: event.from, to: event.to, epoch: event.epoch, reason: event.reason }];
      Object.assign(s, { peer: event.to, epoch: event.epoch, text: "", truncated: false, answered: false, latency_ms: null });
      break;
  }
  slots[i] = s;
  return { ...record, slots };
}

/** Every slot that voted marked answered by its final peer (in case a progress event was missed). */
export function settleSlots(record: JobRecord, result: MoeResult): JobRecord {
  let r = record;
  for (const v of result.model_votes) {
    const s = r.slots.find((x) => x.slot === v.slot);
    if (s?.answered && s.epoch === v.epoch) continue;
    if (!s || s.epoch !== v.epoch) r = applyJobEvent(r, { type: "moe:assigned", slot: v.slot, expert: v.expert, model: v.model, peer: v.peer, epoch: v.epoch });
    r = applyJobEvent(r, { type: "moe:answer", slot: v.slot, expert: v.expert, peer: v.peer, latency_ms: v.latency_ms });
  }
  return { ...r, result };
}

/** A running job's record before anything else is known (from its "started" summary). */
export function recordFromSummary(job: JobSummary): JobRecord {
  return { trace_id: job.trace_id, prompt: job.prompt, task_type: null, experts: null, status: job.status, started_ms: job.started_ms, finished_ms: job.finished_ms, slots: [], result: null, error: job.error ? { message: job.error } : null };
}
