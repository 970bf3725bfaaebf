// Writing a job to resource_mesh for the MOE coordinator: an assigned job in one commit, or an open
// job that waits out its claim window and gives each slot to its claim winner; the payload goes to
// IPFS when it is large, and is registered against its job in the background.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import type { ExpertSpec, InferencePolicy } from "../config/inference-policy.ts";
import type { Logger } from "../log.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { ExpertTask } from "../protocol/expert-task.ts";
import { everyKnownClaimIn, judgeSlotClaims, type RequesterWindow, type StampedClaim } from "./claim-window.ts";
import { peersServing } from "./expert-placement.ts";
import { expertModelOf } from "./slot-runner.ts";

/** Where a job's payload goes when it is too large to sit inline in the Job entry (IPFS). */
export interface JobPayloadStore {
  /** The payload's CID, or null to keep it inline (below the storage policy's threshold). */
  store(payload: string): Promise<string | null>;
  /** Registers the stored payload in artifact_index once the job exists (its provenance). */
  register(cid: string, payload: string, job: string): Promise<void>;
}

/** What a job entry is written from. */
interface JobInput {
  prompt: string;
  taskType: string;
  traceId: string;
  plan: PlannedSlot[];
  /**
   * Slots a timed-out cloud provider may hand to a local expert later: listed in the job
   * (`fallback_slots`, not claimable) but not assigned now.
   */
  fallbacks?: PlannedSlot[];
}

export interface PlannedSlot {
  slot: number;
  expert: ExpertSpec;
  task: ExpertTask;
  peer: PeerInfo;
}

export interface JobPosterOptions {
  zomes: ZomeCaller;
  policy: InferencePolicy;
  peers: () => PeerInfo[];
  /** Tells the online peers that an open job was posted (best effort: they also read the open jobs on their own). */
  announceOpenJob?: (job: string, peers: PeerInfo[]) => void;
  payloads?: JobPayloadStore;
  log: Logger;
}

/** After an open job's claim window: time for the last claims to arrive through the DHT. */
const CLAIM_GRACE_MS = 2000;
/** How often the claims are read while the window is open (each read is one get_links). */
const CLAIM_POLL_MS = 500;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}

export class JobPoster {
  constructor(private readonly opts: JobPosterOptions) {}

  /**
   * Writes the job with every slot's first assignment in one commit (one source-chain write, not
   * 1 + slots: each write costs a conductor round trip that every slot would otherwise wait for).
   * Returns the job hash and the epoch-1 assignment hash per slot.
   */
  async writeJob(input: JobInput & { kind: "moe" | "ask" }): Promise<{ job: string; assignments: string[] }> {
    const { job, stored } = await this.jobEntry(input, 0);
    const mesh = resourceMesh(this.opts.zomes);
    // Only cloud experts: a job without local slots.
    if (input.plan.length === 0) return { job: this.registered(encodeHashToBase64(await mesh.createJob(job)), stored), assignments: [] };
    const posted = await mesh.postAssignedJob({ job, slots: input.plan.map((p) => ({ slot: p.slot, assignee: decodeHashFromBase64(p.peer.agent) })) });
    const assignments: string[] = [];
    input.plan.forEach((p, i) => (assignments[p.slot] = encodeHashToBase64(posted.assignments[i]!)));
    return { job: this.registered(encodeHashToBase64(posted.job), stored), assignments };
  }

  /**
   * An open job: posted without assignees; nodes that can serve a slot claim it during the policy's
   * claim window (open-job-claimer.ts). Each slot then goes to its claim winner (resource_mesh's
   * deterministic tie-break); a slot nobody claimed keeps the placement made here. Claims are
   * advice: the assignment written next (epoch 1) is what names the worker. Which claims count is
   * judged by this node's own clock at assignment time (claim-window.ts).
   */
  async postOpenJob(input: JobInput & { signal: AbortSignal }): Promise<{ job: string; assignments: string[] }> {
    const window = this.opts.policy.local_tier.claim_window_ms;
    const mesh = resourceMesh(this.opts.zomes);
    const { job: entry, stored } = await this.jobEntry({ ...input, kind: "moe" }, window);
    const openedAtMs = Date.now();
    const hash = await mesh.createJob(entry);
    const closesAtMs = Date.now() + window;
    const job = this.registered(encodeHashToBase64(hash), stored);
    this.opts.announceOpenJob?.(job, this.opts.peers().filter((p) => p.online && !p.self));
    const waited = await this.awaitClaims(hash, input.plan, { openedAtMs, closesAtMs }, input.signal);
    const peers = this.opts.peers();
    const ranked = await Promise.all(input.plan.map((p) => mesh.getClaimWinner(hash, p.slot)));
    const verdicts = input.plan.map((p, i) => judgeSlotClaims(p.slot, waited.claims, ranked[i]?.ranked ?? [], { openedAtMs, closesAtMs }));
    input.plan.forEach((p, i) => {
      const peer = peers.find((x) => x.agent === verdicts[i]!.winner && x.online);
      if (peer) p.peer = peer;
      if (verdicts[i]!.outside.length) this.opts.log.warn({ job, slot: p.slot, claimants: verdicts[i]!.outside }, "claims stamped outside the claim window by this node's clock do not count");
    });
    this.opts.log.info({ job, trace: input.traceId, waitedMs: waited.ms, everyKnownClaimIn: waited.early, slots: input.plan.map((p, i) => ({ slot: p.slot, claimants: ranked[i]?.ranked.length ?? 0, peer: p.peer.name })) }, "open job: slots go to their claim winners");
    return { job, assignments: [] };
  }

  /**
   * Waits for an open job's claims: until every peer this node knows could claim a slot has a
   * claim on it inside the window (everyKnownClaimIn: nothing known can change after that), else to
   * the window's end plus CLAIM_GRACE_MS (claims written near the end still need a moment to reach
   * this node). Returns the last claims read, which postOpenJob judges (claim-window.ts) without
   * reading them again.
   */
  private async awaitClaims(hash: Uint8Array, plan: PlannedSlot[], window: RequesterWindow, signal: AbortSignal): Promise<{ ms: number; early: boolean; claims: StampedClaim[] }> {
    const mesh = resourceMesh(this.opts.zomes);
    const start = Date.now();
    const endsAt = window.closesAtMs + CLAIM_GRACE_MS;
    // The last read is the one judged: at an early close, or at the end of the grace.
    let claims: StampedClaim[] = [];
    do {
      await sleep(Math.max(0, Math.min(CLAIM_POLL_MS, endsAt - Date.now())), signal);
      const peers = this.opts.peers().filter((p) => !p.self);
      const slots = plan.map((p) => ({ slot: p.slot, eligible: peersServing(expertModelOf(p.task), peers).map((x) => x.agent) }));
      claims = await mesh.getClaims(hash);
      if (everyKnownClaimIn(slots, claims, window)) return { ms: Date.now() - start, early: true, claims };
    } while (Date.now() < endsAt);
    return { ms: Date.now() - start, early: false, claims };
  }

  /**
   * The resource_mesh Job. `requirements` names each slot's model, so a worker can decide on a
   * claim without the payload; the payload (prompt and slots) goes to IPFS when it is large.
   */
  private async jobEntry(input: JobInput & { kind: "moe" | "ask" }, claimWindowMs: number) {
    const tier = this.opts.policy.local_tier;
    const slotOf = (p: PlannedSlot) => ({ slot: p.slot, expert: p.expert.name, model: p.expert.model, kind: p.task.kind, max_tokens: p.task.maxTokens });
    const slots = input.plan.map(slotOf);
    const fallbacks = (input.fallbacks ?? []).map(slotOf);
    const withoutExpert = ({ expert: _, ...s }: ReturnType<typeof slotOf>) => s;
    const payload = JSON.stringify({ kind: input.kind, prompt: input.prompt, task_type: input.taskType, slots, ...(fallbacks.length ? { fallback_slots: fallbacks } : {}) });
    const requirements = JSON.stringify({ task_type: input.taskType, slots: slots.map(withoutExpert), ...(fallbacks.length ? { fallback_slots: fallbacks.map(withoutExpert) } : {}) });
    const cid = await this.storePayload(payload);
    const job = {
      kind: "inference" as const,
      // Too long to list: the slot count, counting up to the last fallback slot (numbered after the cloud slots).
      requirements: requirements.length <= 4096 ? requirements : JSON.stringify({ task_type: input.taskType, slots: Math.max(slots.length, ...fallbacks.map((f) => f.slot + 1)) }),
      payload_inline: cid ? null : payload.slice(0, 64 * 1024),
      payload_cid: cid,
      deadline_ms: Date.now() + claimWindowMs + tier.timeout_ms * (1 + tier.max_reassignments),
      moe_group: input.kind === "moe" ? input.taskType.slice(0, 64) : null,
      trace_id: input.traceId,
      claim_window_ms: claimWindowMs,
    };
    return { job, stored: cid ? { cid, payload } : undefined };
  }

  private async storePayload(payload: string): Promise<string | null> {
    try {
      return (await this.opts.payloads?.store(payload)) ?? null;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, "could not store a large prompt in IPFS; keeping it inline");
      return null;
    }
  }

  /** Registers a payload stored in IPFS against its job, in the background (it is provenance, not needed to run). */
  private registered(job: string, stored: { cid: string; payload: string } | undefined): string {
    if (stored && this.opts.payloads) {
      this.opts.payloads.register(stored.cid, stored.payload, job).catch((err: Error) => this.opts.log.warn({ job, cid: stored.cid, err: err.message }, "could not register a job's prompt in artifact_index"));
    }
    return job;
  }
}
