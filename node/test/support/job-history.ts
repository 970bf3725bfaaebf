// Writes a job history through the zome API, as a mesh that has served many jobs has it: tiny
// assigned jobs (create_job with claim_window_ms 0: the Job entry and its AllJobs link, the index
// every job ever posted is on), one zome call after another (a source chain takes one commit at a
// time). Here ~20 jobs/s (post_assigned_job, with an assignment and two more links, ~7/s).
// Used by tryorama-tests/src/read-cost-history.test.ts and node/bench/idle-bench.ts.
import type { resourceMesh } from "@ripple-mesh/zome-bindings";

type ResourceMesh = ReturnType<typeof resourceMesh>;

export interface HistoryWritten {
  jobs: number;
  ms: number;
  /** Jobs written per second. */
  rate: number;
}

/** A tiny inference job: open for `claimWindowMs` (0: an assigned job's entry). */
export function tinyJob(traceId: string, claimWindowMs: number, deadlineMs = Date.now() + 600_000) {
  return {
    kind: "inference" as const,
    requirements: "{}",
    payload_inline: "h",
    payload_cid: null,
    deadline_ms: deadlineMs,
    moe_group: null,
    trace_id: traceId,
    claim_window_ms: claimWindowMs,
  };
}

/** `count` tiny jobs; `onProgress` every 500 jobs. */
export async function writeJobHistory(mesh: ResourceMesh, count: number, onProgress?: (done: number) => void): Promise<HistoryWritten> {
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    await mesh.createJob(tinyJob(`history-${i}`, 0, Date.now() + 60_000));
    if ((i + 1) % 500 === 0) onProgress?.(i + 1);
  }
  const ms = Date.now() - started;
  return { jobs: count, ms, rate: count / (ms / 1000) };
}
