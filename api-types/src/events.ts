// What travels on /v1/events (WebSocket), and the body of every API error.
import type { LocalModel } from "./inference.ts";
import type { JobSummary } from "./jobs.ts";
import type { MoeEvent } from "./moe.ts";
import type { PeerInfo } from "./peers.ts";

/** The events the daemon sends; readers ignore types they do not know (the last member). */
export type ApiEvent =
  | { type: "hello"; api: string; version: number; time: string }
  | { type: "peer:joined" | "peer:online" | "peer:offline"; peer: PeerInfo }
  | { type: "mesh:joined"; network: string }
  | { type: "relay:changed"; url: string }
  | { type: "moe:job-started" | "moe:job-finished"; job: JobSummary }
  | { type: "moe:job-progress"; trace_id: string; event: MoeEvent }
  | { type: "model:loaded" | "model:unloaded"; model: LocalModel }
  | { type: "models:changed"; added: string[]; removed: string[]; changed: string[] }
  | { type: "model:pulled"; name: string; cid: string; sha256: string; bytes: number; transferMs: number; directBytes: number; from: string[] }
  | { type: "model:pull-failed"; ref: string; name: string | null; error: string; fix: string | null }
  | { type: "model:pull-progress"; name: string; cid: string; bytes: number; total: number; percent: number; mbps: number }
  // This node's worker serving a slot of a job (its own or another node's): refused at once, or
  // started and then answered or failed (a generation error, or the requester left).
  | { type: "job:refused"; job: string; slot: number; requester: string; code: string; reason: string }
  | { type: "job:started"; job: string; slot: number; epoch: number; expert: string; requester: string }
  | { type: "job:answered"; job: string; slot: number; epoch: number; tokens: number; latency_ms: number }
  | { type: "job:failed"; job: string; slot: number; epoch: number; code: string; reason: string }
  | { type: string; [key: string]: unknown };

/** What every error carries: a stable code, what went wrong, and how to fix it. */
export interface ApiErrorDetail {
  code: string;
  message: string;
  fix: string;
}

/** The JSON body of an API error response, and of an event stream's `error` event. */
export interface ApiErrorBody {
  error: ApiErrorDetail;
}
