// The NATS event bus of a node started with `ripple up --nats URL`: which subject each daemon event
// goes to, the versioned JSON payload every event message carries, and the request-reply submission
// subjects with their replies. Clients (and the daemon) share these so that none keeps a copy.
import type { AskResult } from "./inference.ts";
import type { ApiErrorBody, ApiEvent } from "./events.ts";
import type { MoeResult } from "./moe.ts";

/** The version of the event payload; a change that breaks readers raises it. */
export const NATS_PAYLOAD_VERSION = 1;

/** The subject root: every subject of a node is `ripple.<network>.…`. */
export const NATS_SUBJECT_ROOT = "ripple";

/**
 * The daemon's events that are published, by their `/v1/events` type: `ripple.<network>.<kind>.<event>`.
 * `job` is the requester side of an MOE job (every job this node runs, however it was submitted);
 * `worker` is this node serving a slot of someone's job.
 */
export const natsEventSubjects = {
  "peer:joined": { kind: "peer", event: "joined" },
  "peer:online": { kind: "peer", event: "online" },
  "peer:offline": { kind: "peer", event: "offline" },
  "peer:refused": { kind: "peer", event: "refused" },
  "mesh:joined": { kind: "mesh", event: "joined" },
  "relay:changed": { kind: "mesh", event: "relay-changed" },
  "moe:job-started": { kind: "job", event: "started" },
  "moe:job-progress": { kind: "job", event: "progress" },
  "moe:job-finished": { kind: "job", event: "finished" },
  "model:loaded": { kind: "model", event: "loaded" },
  "model:unloaded": { kind: "model", event: "unloaded" },
  "models:changed": { kind: "model", event: "changed" },
  "model:pulled": { kind: "model", event: "pulled" },
  "model:pull-failed": { kind: "model", event: "pull-failed" },
  "model:pull-progress": { kind: "model", event: "pull-progress" },
  "job:started": { kind: "worker", event: "started" },
  "job:answered": { kind: "worker", event: "answered" },
  "job:refused": { kind: "worker", event: "refused" },
  "job:failed": { kind: "worker", event: "failed" },
  "job:result-written": { kind: "worker", event: "result-written" },
} as const satisfies Record<string, { kind: string; event: string }>;

export type NatsPublishedEventType = keyof typeof natsEventSubjects;
export type NatsEventKind = (typeof natsEventSubjects)[NatsPublishedEventType]["kind"];

/**
 * One event message: the `/v1/events` event (its `type` and fields as they are there) plus the
 * payload version and when the node published it (ISO 8601).
 */
export type NatsEventPayload = { v: typeof NATS_PAYLOAD_VERSION; time: string } & ApiEvent;

/** What can be submitted by request-reply: `ripple.<network>.submit.<what>`. */
export type NatsSubmission = "moe" | "ask";

/**
 * The reply to a submission: the same JSON as the HTTP route's answer (`POST /v1/moe`, `POST /v1/ask`),
 * or the same error body (`{"error": {code, message, fix}}`).
 */
export type NatsSubmitReply<S extends NatsSubmission> = (S extends "moe" ? MoeResult : AskResult) | ApiErrorBody;

/** `ripple.<network>.<kind>.<event>` for a published event type; undefined for one that is not published. */
export function natsEventSubject(network: string, type: string): string | undefined {
  const to = (natsEventSubjects as Record<string, { kind: string; event: string } | undefined>)[type];
  return to ? `${NATS_SUBJECT_ROOT}.${network}.${to.kind}.${to.event}` : undefined;
}

/** `ripple.<network>.submit.moe` / `.ask` */
export function natsSubmitSubject(network: string, what: NatsSubmission): string {
  return `${NATS_SUBJECT_ROOT}.${network}.submit.${what}`;
}
