// One slot of a job: assign it to a peer (a resource_mesh Assignment naming the agent), wake the
// peer with the task and take its streamed answer. When the peer fails, refuses, goes silent or
// dies, the slot is reassigned to another peer with a higher epoch; only the answer of the epoch
// that is current when it arrives counts, so a slot never yields two answers.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import type { resourceMesh } from "@ripple-mesh/zome-bindings";
import type { JobAnswer, JobProgress, JobRequest } from "../jobs/job-protocol.ts";
import type { Logger } from "../log.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { MoeEvent } from "../api/inference-source.ts";
import { P2pRemoteError, P2pRequestError } from "../p2p/p2p-errors.ts";
import type { ExpertTask } from "./expert-task.ts";
import { placeExpert } from "./expert-placement.ts";

export type Dispatch = (
  peer: PeerInfo,
  req: JobRequest,
  opts: { signal: AbortSignal; timeoutMs: number; idleTimeoutMs: number; onProgress: (p: JobProgress) => void },
) => Promise<JobAnswer>;

export interface SlotContext {
  job: string;
  traceId: string;
  mesh: ReturnType<typeof resourceMesh>;
  dispatch: Dispatch;
  peers: () => PeerInfo[];
  /** Slots per agent placed so far in this job (shared by the job's slots, updated here). */
  planned: Map<string, number>;
  timeoutMs: number;
  idleTimeoutMs: number;
  maxReassignments: number;
  signal: AbortSignal;
  onEvent: (e: MoeEvent) => void;
  log: Logger;
}

export type SlotOutcome =
  | { ok: true; slot: number; epoch: number; peer: PeerInfo; answer: Extract<JobAnswer, { outcome: "done" }> }
  | { ok: false; slot: number; error: string; attempts: string[] };

/** `firstAssignment`: the epoch-1 assignment when the job was written with it (else it is written here). */
export async function runSlot(ctx: SlotContext, slot: number, task: ExpertTask, first: PeerInfo, firstAssignment?: string): Promise<SlotOutcome> {
  const failed = new Set<string>();
  const attempts: string[] = [];
  let peer: PeerInfo | undefined = first;
  for (let epoch = 1; epoch <= 1 + ctx.maxReassignments; epoch++) {
    if (!peer) break;
    const reason = await tryPeer(ctx, slot, epoch, task, peer, epoch === 1 ? firstAssignment : undefined);
    if (typeof reason !== "string") {
      ctx.onEvent({ type: "moe:answer", slot, expert: task.expert, peer: peer.name, latency_ms: reason.latency_ms });
      return { ok: true, slot, epoch, peer, answer: reason };
    }
    attempts.push(`${peer.name} (epoch ${epoch}): ${reason}`);
    ctx.signal.throwIfAborted();
    failed.add(peer.agent);
    ctx.planned.set(peer.agent, Math.max(0, (ctx.planned.get(peer.agent) ?? 1) - 1));
    const next = placeExpert({ model: task.model, anyPeer: task.kind !== "model", peers: ctx.peers(), planned: ctx.planned, exclude: failed });
    if (next && epoch < 1 + ctx.maxReassignments) {
      ctx.log.warn({ slot, expert: task.expert, from: peer.name, to: next.name, reason }, "reassigning a slot");
      ctx.onEvent({ type: "moe:reassigned", slot, expert: task.expert, from: peer.name, to: next.name, epoch: epoch + 1, reason });
      ctx.planned.set(next.agent, (ctx.planned.get(next.agent) ?? 0) + 1);
    }
    peer = next;
  }
  return { ok: false, slot, error: attempts.length ? attempts.join("; ") : `no online peer serves ${task.model}`, attempts };
}

/** The answer, or why this peer did not give one. */
async function tryPeer(ctx: SlotContext, slot: number, epoch: number, task: ExpertTask, peer: PeerInfo, written?: string): Promise<Extract<JobAnswer, { outcome: "done" }> | string> {
  let assignment = written;
  if (!assignment) {
    try {
      const hash = await ctx.mesh.assignJob({ job: decodeHashFromBase64(ctx.job), assignee: decodeHashFromBase64(peer.agent), slot, epoch });
      assignment = encodeHashToBase64(hash);
    } catch (err) {
      return `could not write the assignment: ${(err as Error).message}`;
    }
  }
  if (epoch === 1) ctx.onEvent({ type: "moe:assigned", slot, expert: task.expert, model: task.model, peer: peer.name, epoch });
  const req: JobRequest = { job: ctx.job, assignment, slot, epoch, trace_id: ctx.traceId, task };
  for (let attempt = 1; ; attempt++) {
    try {
      return await dispatchOnce(ctx, slot, peer, req);
    } catch (err) {
      ctx.signal.throwIfAborted();
      // A reset stream or failed dial (not a refusal, not a timeout) may be the connection, not the
      // peer: send the same assignment once more before giving the slot to someone else. The worker
      // stopped the first run when its stream went away, so it cannot answer twice.
      if (!(err instanceof P2pRequestError) || err instanceof P2pRemoteError || attempt >= TRANSPORT_ATTEMPTS) return (err as Error).message;
      ctx.log.info({ slot, peer: peer.name, err: (err as Error).message }, "job stream failed; retrying the same assignment");
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const TRANSPORT_ATTEMPTS = 2;

/** The answer, or the worker's refusal as text; throws when the exchange itself failed. */
async function dispatchOnce(ctx: SlotContext, slot: number, peer: PeerInfo, req: JobRequest): Promise<Extract<JobAnswer, { outcome: "done" }> | string> {
  const answer = await ctx.dispatch(peer, req, {
    signal: ctx.signal,
    timeoutMs: ctx.timeoutMs,
    idleTimeoutMs: ctx.idleTimeoutMs,
    onProgress: (p) => {
      if (p.type === "tokens") ctx.onEvent({ type: "moe:token", slot, text: p.text });
    },
  });
  return answer.outcome === "done" ? answer : `${answer.code}: ${answer.message}`;
}
