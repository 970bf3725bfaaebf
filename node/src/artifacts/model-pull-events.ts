// What a finished model pull announces on /v1/events and NATS (model-shards.ts emits them): pulls
// also run on their own (the storage policy's `want`), so an operator learns of them there.
import { RippleError } from "../errors.ts";
import type { ProviderView } from "./artifact-service.ts";

export type ModelPullEvent =
  | { type: "model:pulled"; name: string; cid: string; sha256: string; bytes: number; transferMs: number; directBytes: number; from: string[] }
  | { type: "model:pull-failed"; ref: string; name: string | null; error: string; fix: string | null };

/** A pull that brought the model here: what, how, and from which verified providers. */
export function pulledEvent(r: { name: string; cid: string; sha256: string; size: number; transferMs: number; directBytes: number; providers: ProviderView[] }): ModelPullEvent {
  const from = r.providers.filter((p) => p.verified && !p.self).map((p) => p.name ?? p.agent);
  return { type: "model:pulled", name: r.name, cid: r.cid, sha256: r.sha256, bytes: r.size, transferMs: r.transferMs, directBytes: r.directBytes, from };
}

/** A pull that failed, with the error's fix when it has one. */
export function pullFailedEvent(ref: string, name: string | undefined, err: Error): ModelPullEvent {
  return { type: "model:pull-failed", ref, name: name ?? null, error: err.message, fix: err instanceof RippleError ? err.fix : null };
}
