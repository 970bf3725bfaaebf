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
