// What a model pull announces on /v1/events and NATS (model-shards.ts emits them): its progress
// (every PULL_PROGRESS_EVERY_MS at most) and its outcome. Pulls also run on their own (the storage
// policy's `want`, rehosting), so an operator learns of them there.
import { RippleError } from "../errors.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { ProviderView } from "./artifact-service.ts";

export type ModelPullEvent =
  | { type: "model:pulled"; name: string; cid: string; sha256: string; bytes: number; transferMs: number; directBytes: number; from: string[] }
  | { type: "model:pull-failed"; ref: string; name: string | null; error: string; fix: string | null }
  | { type: "model:pull-progress"; name: string; cid: string; bytes: number; total: number; percent: number; mbps: number };

/** At most one progress event per pull this often (the HTTP stream of `ripple models pull` gets 4 a second). */
export const PULL_PROGRESS_EVERY_MS = 2000;

/** A pull that brought the model here: what, how, and from which verified providers. */
export function pulledEvent(r: { name: string; cid: string; sha256: string; size: number; transferMs: number; directBytes: number; providers: ProviderView[] }): ModelPullEvent {
  const from = r.providers.filter((p) => p.verified && !p.self).map((p) => p.name ?? p.agent);
  return { type: "model:pulled", name: r.name, cid: r.cid, sha256: r.sha256, bytes: r.size, transferMs: r.transferMs, directBytes: r.directBytes, from };
}

/** A pull that failed, with the error's fix when it has one. */
export function pullFailedEvent(ref: string, name: string | undefined, err: Error): ModelPullEvent {
  return { type: "model:pull-failed", ref, name: name ?? null, error: err.message, fix: err instanceof RippleError ? err.fix : null };
}

/**
 * The `onBytes` of a pull: counts the bytes (GET /metrics), streams progress to the caller of the pull
 * every 250 ms (`pull:progress`), and announces it every PULL_PROGRESS_EVERY_MS (`model:pull-progress`).
 */
export function pullProgress(o: {
  name: string;
  cid: string;
  size: number;
  /** performance.now() when the transfer started. */
  startedAt: number;
  stream: (e: { type: "pull:progress"; bytes: number; total: number; percent: number; mbps: number }) => void;
  announce: (e: ModelPullEvent) => void;
  metrics?: Pick<NodeMetrics, "modelBytesPulled">;
  now?: () => number;
}): (written: number, delta: number) => void {
  let streamed = 0;
  let announced = -Infinity;
  return (written, delta) => {
    o.metrics?.modelBytesPulled(delta);
    const now = o.now?.() ?? performance.now();
    if (now - streamed <= 250) return;
    streamed = now;
    const progress = { bytes: written, total: o.size, percent: Math.floor((written / o.size) * 1000) / 10, mbps: Math.round(written / 1e6 / ((now - o.startedAt) / 1000)) };
    o.stream({ type: "pull:progress", ...progress });
    if (now - announced < PULL_PROGRESS_EVERY_MS) return;
    announced = now;
    o.announce({ type: "model:pull-progress", name: o.name, cid: o.cid, ...progress });
  };
}
