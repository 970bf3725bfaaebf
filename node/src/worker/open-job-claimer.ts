// The worker's side of open jobs: a requester that posts a job without assignees (claim_window_ms
// > 0) lets the mesh say who can serve each slot. This node polls the open jobs of its mesh, and
// for every slot it could run under its compute policy (model held, model allowed, requester
// allowed, token limit) it writes a Claim. After the window the requester assigns each slot to its
// claim winner (the deterministic tie-break of resource_mesh) and wakes it like any assignee; the
// worker's policy gate runs again then, so a claim never bypasses it.
import { encodeHashToBase64 } from "@holochain/client";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import { z } from "zod";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";
import type { ComputePolicy } from "../config/compute-policy.ts";
import { checkJobAllowed } from "./worker-policy.ts";

/** The part of a job's requirements or payload (moe-coordinator.ts jobEntry) a worker needs to decide on a claim. */
const openSlotsSchema = z.object({
  slots: z
    .array(z.object({ slot: z.number().int().min(0).max(63), model: z.string().min(1).max(128), kind: z.enum(["model", "garbage"]).default("model"), max_tokens: z.number().int().min(1).max(32768) }))
    .max(64),
});

export interface OpenJobClaimerOptions {
  zomes: ZomeCaller;
  /** This node's agent key (base64): its own jobs are not claimed. */
  self: string;
  policy: () => ComputePolicy;
  hasModel: (name: string) => boolean;
  isMeshMember: (agent: string) => boolean;
  testExperts: boolean;
  log: Logger;
  /** Default 1 s: a claim window is a few seconds. */
  intervalMs?: number;
}

export class OpenJobClaimer {
  /** "job:slot" already decided (claimed or not servable), so each is looked at once. */
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<unknown> | undefined;

  constructor(private readonly opts: OpenJobClaimerOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.polling ??= this.poll()
        .catch((err) => this.opts.log.debug({ err: (err as Error).message }, "could not read open jobs"))
        .finally(() => (this.polling = undefined));
    }, this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** One pass: claims every servable slot of every open job not looked at yet. */
  async poll(): Promise<number> {
    const policy = this.opts.policy();
    if (!policy.worker.serve_open_jobs || !policy.worker.serve_assigned_jobs) return 0;
    const mesh = resourceMesh(this.opts.zomes);
    let claimed = 0;
    const open = await mesh.listOpenJobs();
    this.forgetClosed(new Set(open.map((j) => encodeHashToBase64(j.action_hash))));
    for (const job of open) {
      const requester = encodeHashToBase64(job.author);
      const jobHash = encodeHashToBase64(job.action_hash);
      if (requester === this.opts.self) continue;
      // The slots are in `requirements` (the payload may be in IPFS), unless the slot list was too
      // long for it (over 4096 characters): then only in the inline payload.
      const fromRequirements = openSlotsSchema.safeParse(parseJson(job.entry.requirements));
      const slots = fromRequirements.success ? fromRequirements : openSlotsSchema.safeParse(parseJson(job.entry.payload_inline));
      if (!slots.success) continue;
      for (const s of slots.data.slots) {
        const key = `${jobHash}:${s.slot}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        const refusal = this.refusal(policy, requester, s);
        if (refusal) {
          this.opts.log.debug({ job: jobHash, slot: s.slot, reason: refusal }, "not claiming an open slot");
          continue;
        }
        await mesh.claimJob({ job: job.action_hash, slot: s.slot });
        claimed++;
        this.opts.log.info({ job: jobHash, slot: s.slot, model: s.model, requester }, "claimed an open job slot");
      }
    }
    return claimed;
  }

  /** Keeps `seen` to the jobs still open: a closed window cannot be claimed again anyway. */
  private forgetClosed(open: Set<string>): void {
    for (const key of this.seen) if (!open.has(key.slice(0, key.lastIndexOf(":")))) this.seen.delete(key);
  }

  private refusal(policy: ComputePolicy, requester: string, s: z.infer<typeof openSlotsSchema>["slots"][number]): string | undefined {
    try {
      checkJobAllowed(policy, { kind: s.kind, model: s.model, maxTokens: s.max_tokens }, {
        requester,
        requesterInMesh: this.opts.isMeshMember(requester),
        modelRegistered: this.opts.hasModel(s.model),
        testExperts: this.opts.testExperts,
      });
      return undefined;
    } catch (err) {
      if (err instanceof InferenceError) return err.message;
      throw err;
    }
  }
}

function parseJson(text: string | null): unknown {
  try {
    return text === null ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
