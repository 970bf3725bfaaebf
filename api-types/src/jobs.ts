// The last MOE runs of a node (GET /v1/jobs, GET /v1/jobs/:trace, the UI's Jobs page).
import type { MoeEvent, MoeResult } from "./moe.ts";

export type JobStatus = "running" | "done" | "failed";

export interface JobSlot {
  slot: number;
  expert: string;
  model: string;
  peer: string;
  epoch: number;
  /** Text streamed so far (capped at `maxSlotTextChars`; `truncated` then). */
  text: string;
  truncated: boolean;
  /** Token chunks received. */
  chunks: number;
  answered: boolean;
  latency_ms: number | null;
  /** Earlier assignments of this slot that were replaced, with why. */
  reassigned: Array<{ from: string; to: string; epoch: number; reason: string }>;
}

export interface JobRecord {
  trace_id: string;
  prompt: string;
  task_type: string | null;
  experts: number | null;
  status: JobStatus;
  started_ms: number;
  finished_ms: number | null;
  slots: JobSlot[];
  result: MoeResult | null;
  error: { message: string; code?: string } | null;
}

/** A job as listed (no streamed text, no full result): what GET /v1/jobs returns per job. */
export interface JobSummary {
  trace_id: string;
  prompt: string;
  status: JobStatus;
  started_ms: number;
  finished_ms: number | null;
  slots: number;
  answered: number;
  peers: string[];
  response: string | null;
  consensus_score: number | null;
  consensus_reached: boolean | null;
  error: string | null;
}

export type JobHistoryEvent =
  | { type: "moe:job-started"; job: JobSummary }
  | { type: "moe:job-progress"; trace_id: string; event: MoeEvent }
  | { type: "moe:job-finished"; job: JobSummary };

/** Where a slot this node served for another node's job stands. */
export type ServedSlotStatus = "running" | "answered" | "refused" | "failed";

/**
 * One slot of another node's job that this node's worker took, or refused (GET /v1/jobs/served,
 * the UI's Jobs page). Kept in memory: the last 50 since the node started.
 */
export interface ServedSlot {
  /** The job's action hash (resource_mesh). */
  job: string;
  slot: number;
  /** null for a refusal (decided before the assignment's epoch was looked at). */
  epoch: number | null;
  /** The requester's agent key, and its name as this node's peer view knows it (a claim), if listed. */
  requester: string;
  requester_name: string | null;
  expert: string | null;
  status: ServedSlotStatus;
  /** Why it was refused or failed: the error code and message. */
  code: string | null;
  reason: string | null;
  tokens: number | null;
  latency_ms: number | null;
  started_ms: number;
  finished_ms: number | null;
}
