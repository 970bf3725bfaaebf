// The Shards page's "Model pulls": this node's pulls as its events tell them (model:pull-progress,
// then model:pulled or model:pull-failed), newest first, the last PULLS_KEPT. A pull is known by its
// model name (a failure before the name was resolved is listed under the ref it was asked for).
import type { ApiEvent } from "@ripple-mesh/api-types";

export const PULLS_KEPT = 10;

export interface PullView {
  name: string;
  cid: string | null;
  status: "pulling" | "done" | "failed";
  bytes: number;
  total: number | null;
  mbps: number | null;
  error: string | null;
  fix: string | null;
  updatedAt: number;
}

type PullEvent = Extract<ApiEvent, { type: "model:pull-progress" | "model:pulled" | "model:pull-failed" }>;

export function isPullEvent(e: ApiEvent): e is PullEvent {
  return e.type === "model:pull-progress" || e.type === "model:pulled" || e.type === "model:pull-failed";
}

/** The pulls after one event. Pure: a new list, the pulled model's entry first. */
export function applyPullEvent(pulls: readonly PullView[], e: PullEvent, now: number): PullView[] {
  const name = e.type === "model:pull-failed" ? (e.name ?? e.ref) : e.name;
  const before = pulls.find((p) => p.name === name);
  const base: PullView = before ?? { name, cid: null, status: "pulling", bytes: 0, total: null, mbps: null, error: null, fix: null, updatedAt: now };
  let next: PullView;
  if (e.type === "model:pull-progress") {
    // A new pull of a model pulled (or failed) before starts a fresh entry.
    const fresh = before?.status === "pulling" ? base : { ...base, error: null, fix: null };
    next = { ...fresh, cid: e.cid, status: "pulling", bytes: e.bytes, total: e.total, mbps: e.mbps, updatedAt: now };
  } else if (e.type === "model:pulled") {
    const mbps = e.transferMs > 0 ? Math.round(e.bytes / 1e6 / (e.transferMs / 1000)) : base.mbps;
    next = { ...base, cid: e.cid, status: "done", bytes: e.bytes, total: e.bytes, mbps, error: null, fix: null, updatedAt: now };
  } else {
    next = { ...base, status: "failed", error: e.error, fix: e.fix, updatedAt: now };
  }
  return [next, ...pulls.filter((p) => p.name !== name)].slice(0, PULLS_KEPT);
}
