// The worker's side of open jobs: a requester that posts a job without assignees (claim_window_ms
// > 0) lets the mesh say who can serve each slot, and tells the online peers over libp2p
// (protocol/open-job-protocol.ts). This node reads the open jobs of its mesh when told (and again
// until the job shows up in its reads), and every 10 s in case a notice did not arrive, or every
// 30 s while every online peer is bound over libp2p (each can tell it), and never while no other
// node is listed: each read costs the conductor more the more links its store holds (Holochain
// 0.7's get_links scans them all), so it is not made every second.
// For every slot it could run under its compute policy (model held, model allowed, requester
// allowed, token limit) it writes a Claim. After the window the requester assigns each slot to its
// claim winner (the deterministic tie-break of resource_mesh) and wakes it like any assignee; the
// worker's policy gate runs again then, so a claim never bypasses it.
// Hostile jobs cannot stop a pass: a job stamped beyond the allowed clock skew ahead of this node's
// clock is not "open" here (every claim on it would fail validation), and each slot's claim is
// written on its own, a failure logged with the job and the reason, the pass going on.
import { encodeHashToBase64 } from "@holochain/client";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import { z } from "zod";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";
import type { ComputePolicy } from "../config/compute-policy.ts";
import { aheadBeyondSkewMs, DEFAULT_MAX_CLOCK_SKEW_MS, microsToMs } from "../config/clock-skew.ts";
import { checkJobAllowed } from "./worker-policy.ts";
import { PerKeyRate } from "../per-key-rate.ts";

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
  /** The fallback read, for notices that did not arrive. Default 10 s. */
  intervalMs?: number;
  /**
   * Whether some online peer cannot tell this node of its open jobs (not bound over libp2p): the
   * fallback read then runs every intervalMs, otherwise every QUIET_FALLBACK_READ_MS. Without it,
   * every intervalMs.
   */
  fallbackNeeded?: () => boolean;
  /**
   * Whether the mesh view lists any other node. Only a listed node's jobs are claimed
   * (isMeshMember), so a node alone makes no fallback read at all: its idle cost then does not
   * grow with the job history in its store (issue #20). Without it, always true.
   */
  othersListed?: () => boolean;
  /** After a notice: reads at these delays (ms) until the job is listed. Default 0, 500, 1000, 2000, 4000. */
  wakeDelaysMs?: number[];
  /** Jobs stamped further ahead of this node's clock are skipped (networks.json max_clock_skew_ms). */
  maxClockSkewMs?: number;
  /** This node's clock (Unix ms); tests pass their own. */
  now?: () => number;
}

/** What one pass did: slots claimed, claims that failed, jobs skipped as future-dated, slots left for later (budgets). */
export interface ClaimPass {
  claimed: number;
  failed: number;
  futureDated: number;
  deferred: number;
}

/**
 * Claims written in one pass. Each is a conductor write that stays on this node's source chain, and
 * any mesh member can list open jobs of 64 slots each: slots beyond this are looked at in the next pass.
 */
export const MAX_CLAIMS_PER_PASS = 32;
/** Claims a requester's per-minute job quota allows, per job (see claimsPerRequester). */
export const CLAIMS_PER_STARTED_JOB = 4;

/** The read for open jobs a notice did not announce. */
const FALLBACK_READ_MS = 10_000;
/** The same read while every online peer can send notices. */
export const QUIET_FALLBACK_READ_MS = 30_000;
/** Reads after a notice, until the job is listed (it may reach this node's store a moment later). */
const WAKE_DELAYS_MS = [0, 500, 1000, 2000, 4000];
/** Jobs awaited at once after notices; further notices are dropped until one is listed or given up. */
const MAX_AWAITED = 16;

export class OpenJobClaimer {
  /** "job:slot" already decided (claimed or not servable), so each is looked at once. */
  private readonly seen = new Set<string>();
  /** Future-dated jobs already reported (each is logged once while it is listed). */
  private readonly futureDated = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<unknown> | undefined;
  /** A read asked for while one was running: it runs when that one ends. */
  private again = false;
  /** The last pass left slots for the next because of MAX_CLAIMS_PER_PASS: the next read runs at once. */
  private passCapReached = false;
  /** Jobs a peer told this node about and it has not listed yet, with their pending wake-up timers. */
  private readonly awaited = new Map<string, NodeJS.Timeout[]>();
  private stopped = false;
  private lastReadMs = 0;
  /**
   * Claims per requester per minute: CLAIMS_PER_STARTED_JOB times the jobs the compute policy lets
   * it start here (worker.per_requester.max_per_minute). Every worker claims every slot it can serve
   * and wins about its share, so a claim is not a job started; but made-up jobs of 64 slots each
   * must not make this node write claims without end.
   */
  private readonly claimsPerRequester: PerKeyRate;

  constructor(private readonly opts: OpenJobClaimerOptions) {
    this.claimsPerRequester = new PerKeyRate(10_000, () => this.now());
  }

  start(): void {
    this.timer = setInterval(() => this.fallbackRead(), this.opts.intervalMs ?? FALLBACK_READ_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const timers of this.awaited.values()) timers.forEach(clearTimeout);
    this.awaited.clear();
    await this.polling;
  }

  /**
   * A peer says it posted open job `job` (base64 action hash): read now, and again after each wake
   * delay until the job is listed. At most MAX_AWAITED jobs are awaited at once, so notices cost a
   * flooding peer's victims a bounded number of reads.
   */
  wake(job: string): boolean {
    if (this.stopped || this.awaited.has(job) || this.awaited.size >= MAX_AWAITED) return false;
    const delays = this.opts.wakeDelaysMs ?? WAKE_DELAYS_MS;
    const timers = delays.map((ms, i) =>
      setTimeout(() => {
        if (i === delays.length - 1) this.awaited.delete(job);
        this.read();
      }, ms).unref(),
    );
    this.awaited.set(job, timers);
    return true;
  }

  private fallbackRead(): void {
    if (this.opts.othersListed?.() === false) return;
    const quiet = this.opts.fallbackNeeded?.() === false;
    if (!quiet || this.now() - this.lastReadMs >= QUIET_FALLBACK_READ_MS) this.read();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** One read of the open jobs, or one more after the read under way. */
  private read(): void {
    if (this.polling) {
      this.again = true;
      return;
    }
    this.lastReadMs = this.now();
    this.polling = this.poll()
      .catch((err) => this.opts.log.debug({ err: (err as Error).message }, "could not read open jobs"))
      .finally(() => {
        this.polling = undefined;
        if ((this.again || this.passCapReached) && !this.stopped) {
          this.again = false;
          this.passCapReached = false;
          this.read();
        }
      });
  }

  /** The job is listed: its remaining wake-ups are not needed. */
  private listed(job: string): void {
    const timers = this.awaited.get(job);
    if (!timers) return;
    timers.forEach(clearTimeout);
    this.awaited.delete(job);
  }

  /** One pass: claims every servable slot of every open job not looked at yet; returns the slots claimed. */
  async poll(): Promise<number> {
    return (await this.pass()).claimed;
  }

  /** One pass, with what it skipped and what failed. */
  async pass(): Promise<ClaimPass> {
    const result: ClaimPass = { claimed: 0, failed: 0, futureDated: 0, deferred: 0 };
    const policy = this.opts.policy();
    if (!policy.worker.serve_open_jobs || !policy.worker.serve_assigned_jobs) return result;
    const mesh = resourceMesh(this.opts.zomes);
    const open = await mesh.listOpenJobs();
    this.forgetClosed(new Set(open.map((j) => encodeHashToBase64(j.action_hash))));
    for (const job of open) this.listed(encodeHashToBase64(job.action_hash));
    const clock = { nowMs: this.now(), maxSkewMs: this.opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS };
    for (const job of open) {
      const requester = encodeHashToBase64(job.author);
      const jobHash = encodeHashToBase64(job.action_hash);
      if (requester === this.opts.self) continue;
      // Beyond the skew: ignored for as long as it is listed (time passing does not make it honest).
      const aheadMs = aheadBeyondSkewMs(microsToMs(job.timestamp), clock);
      if (aheadMs > 0 || this.futureDated.has(jobHash)) {
        result.futureDated++;
        if (!this.futureDated.has(jobHash)) {
          this.futureDated.add(jobHash);
          this.opts.log.warn({ job: jobHash, requester, aheadMs: Math.round(aheadMs) }, `ignoring an open job stamped ${Math.round(aheadMs / 1000)} s ahead of this node's clock`);
        }
        continue;
      }
      // Slightly ahead (within the skew): a claim written before the job's own stamp is invalid, so wait for it.
      if (microsToMs(job.timestamp) > clock.nowMs) continue;
      // The slots are in `requirements` (the payload may be in IPFS), unless the slot list was too
      // long for it (over 4096 characters): then only in the inline payload.
      const fromRequirements = openSlotsSchema.safeParse(parseJson(job.entry.requirements));
      const slots = fromRequirements.success ? fromRequirements : openSlotsSchema.safeParse(parseJson(job.entry.payload_inline));
      if (!slots.success) continue;
      for (const s of slots.data.slots) {
        const key = `${jobHash}:${s.slot}`;
        if (this.seen.has(key)) continue;
        const refusal = this.refusal(policy, requester, s);
        if (refusal) {
          this.seen.add(key);
          this.opts.log.debug({ job: jobHash, slot: s.slot, reason: refusal }, "not claiming an open slot");
          continue;
        }
        // Over a budget: not marked seen, so a later pass claims it if its window is still open.
        if (result.claimed + result.failed >= MAX_CLAIMS_PER_PASS) {
          // The next pass runs as soon as this one ends (read()), well inside a claim window.
          result.deferred++;
          this.passCapReached = true;
          continue;
        }
        if (!this.claimsPerRequester.take(requester, policy.worker.per_requester.max_per_minute * CLAIMS_PER_STARTED_JOB)) {
          result.deferred++;
          continue;
        }
        this.seen.add(key);
        try {
          await mesh.claimJob({ job: job.action_hash, slot: s.slot });
        } catch (err) {
          result.failed++;
          this.opts.log.warn({ job: jobHash, slot: s.slot, requester, reason: (err as Error).message }, "could not claim an open job slot; going on with the others");
          continue;
        }
        result.claimed++;
        this.opts.log.info({ job: jobHash, slot: s.slot, model: s.model, requester }, "claimed an open job slot");
      }
    }
    if (result.deferred > 0) this.opts.log.warn({ deferred: result.deferred, claimed: result.claimed, maxPerPass: MAX_CLAIMS_PER_PASS }, "open job slots left for a later pass (claims per pass, or a requester's claims per minute, at their limit)");
    return result;
  }

  /** Keeps `seen` to the jobs still open: a closed window cannot be claimed again anyway. */
  private forgetClosed(open: Set<string>): void {
    for (const key of this.seen) if (!open.has(key.slice(0, key.lastIndexOf(":")))) this.seen.delete(key);
    for (const job of this.futureDated) if (!open.has(job)) this.futureDated.delete(job);
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
