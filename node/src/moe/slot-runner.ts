// One slot of a job: assign it to a peer (a resource_mesh Assignment naming the agent), wake the
// peer with the task and take its streamed answer. When the peer fails, refuses, stalls, sends an
// answer that fails its checks, or dies, the slot is reassigned to another peer with a higher
// epoch; only the answer of the epoch that is current when it arrives counts, so a slot never
// yields two answers. What each peer did is recorded in this node's observations, by this node's
// own clock, so the next placement knows who is fast and who stalls.
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import type { resourceMesh } from "@ripple-mesh/zome-bindings";
import type { JobAnswer, JobProgress, JobRequest } from "../protocol/job-protocol.ts";
import type { Logger } from "../log.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import type { MoeEvent } from "@ripple-mesh/api-types";
import { P2pRemoteError, P2pRequestError } from "../p2p/p2p-errors.ts";
import { answerProblem, type DoneAnswer } from "./answer-check.ts";
import { maxPromptTokens, type ExpertTask } from "../protocol/expert-task.ts";
import { physicalPeer, type JobPlacement } from "./expert-placement.ts";
import type { Misbehaviour, PeerObservations } from "./peer-observations.ts";
import { modelKey } from "./peer-rating.ts";
import { SlotWatchdog } from "./slot-watchdog.ts";
import { MalformedProgressError } from "../protocol/job-progress.ts";
import { linkSignals } from "../linked-signal.ts";

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
  /** The job's placement state (shared by the job's slots, updated here on reassignment). */
  placement: JobPlacement;
  observations: PeerObservations;
  timeoutMs: number;
  idleTimeoutMs: number;
  /** After "started": longest wait for a token (policy progress_deadline_ms). */
  progressDeadlineMs: number;
  /** After dispatch: longest wait for "started" per slot of this job the worker holds (policy start_deadline_ms). */
  startDeadlineMs: number;
  maxReassignments: number;
  signal: AbortSignal;
  onEvent: (e: MoeEvent) => void;
  log: Logger;
  /** Set when the policy weighs votes by confidence: how a remote worker's claimed confidence is checked. */
  confidence?: ConfidenceCheck;
}

export interface ConfidenceCheck {
  /**
   * This node's own score of a remote answer's confidence with the same model file: undefined when
   * it cannot score it (no such file here, or no engine).
   */
  rescore?: (task: ExpertTask, answer: DoneAnswer, signal: AbortSignal) => Promise<number | undefined>;
  /** The most a claim this node could not check counts (reducer.unverified_confidence_cap). */
  unverifiedCap: number;
}

/** A claimed confidence this far above this node's own score of the same answer is logged as overstated. */
const OVERSTATED_CONFIDENCE = 0.2;

/** An answer a peer sent that failed its checks (recorded with the vote). */
export interface RejectedAnswer {
  slot: number;
  epoch: number;
  peer: string;
  reason: string;
}

export type SlotOutcome =
  | { ok: true; slot: number; epoch: number; peer: PeerInfo; answer: DoneAnswer; rejected: RejectedAnswer[] }
  | { ok: false; cancelled: false; slot: number; error: string; attempts: string[]; rejected: RejectedAnswer[] }
  /** Stopped on purpose (the job's outcome was decided without it): not a failure of anyone. */
  | { ok: false; cancelled: true; slot: number; peer: string; error: string; attempts: string[]; rejected: RejectedAnswer[] };

/** Why one peer gave no answer, and what that says about the peer. */
interface Miss {
  reason: string;
  /** null: nothing to hold against the peer (a refusal by policy or quota, our own cancellation). */
  kind: Misbehaviour | null;
}

/**
 * `firstAssignment`: the epoch-1 assignment when the job was written with it (else it is written here).
 * `cancel`: stops the slot on purpose (its worker's stream is aborted, so it stops generating).
 */
export async function runSlot(ctx: SlotContext, slot: number, task: ExpertTask, first: PeerInfo, firstAssignment?: string, cancel?: AbortSignal): Promise<SlotOutcome> {
  const failed = new Set<string>();
  const attempts: string[] = [];
  const rejected: RejectedAnswer[] = [];
  let peer: PeerInfo | undefined = first;
  for (let epoch = 1; epoch <= 1 + ctx.maxReassignments; epoch++) {
    if (!peer) break;
    if (cancel?.aborted) break;
    const result = await tryPeer(ctx, slot, epoch, task, peer, epoch === 1 ? firstAssignment : undefined, cancel);
    if (cancel?.aborted) {
      ctx.log.info({ slot, expert: task.expert, peer: peer.name }, "slot cancelled: the outcome was decided without it");
      return { ok: false, cancelled: true, slot, peer: peer.name, error: (cancel.reason as Error).message, attempts, rejected };
    }
    if ("outcome" in result) {
      const answer = peer.self ? result : await checkedConfidence(ctx, slot, task, peer, result);
      ctx.onEvent({ type: "moe:answer", slot, expert: task.expert, peer: peer.name, latency_ms: answer.latency_ms });
      return { ok: true, slot, epoch, peer, answer, rejected };
    }
    ctx.signal.throwIfAborted();
    attempts.push(`${peer.name} (epoch ${epoch}): ${result.reason}`);
    if (result.kind) ctx.observations.recordMisbehaviour(physicalPeer(peer), result.kind);
    if (result.kind === "bad_answer") rejected.push({ slot, epoch, peer: peer.name, reason: result.reason });
    failed.add(physicalPeer(peer));
    ctx.placement.release(peer);
    const next: PeerInfo | undefined = epoch < 1 + ctx.maxReassignments ? ctx.placement.place(expertModelOf(task), ctx.peers(), failed) : undefined;
    if (next) {
      ctx.log.warn({ slot, expert: task.expert, from: peer.name, to: next.name, reason: result.reason }, "reassigning a slot");
      ctx.onEvent({ type: "moe:reassigned", slot, expert: task.expert, from: peer.name, to: next.name, epoch: epoch + 1, reason: result.reason });
    }
    peer = next;
  }
  if (cancel?.aborted) return { ok: false, cancelled: true, slot, peer: first.name, error: (cancel.reason as Error).message, attempts, rejected };
  return { ok: false, cancelled: false, slot, error: attempts.length ? attempts.join("; ") : `no online peer serves ${task.model}`, attempts, rejected };
}

/**
 * A remote worker's confidence is its claim: where this node can score the answer itself (same
 * model file), the vote counts with the lower of the two (a worker that sends none, or inflates it,
 * gets this node's own figure). A claim more than OVERSTATED_CONFIDENCE above is held against the
 * peer (a bad answer); smaller gaps are not (batch shapes and backends move the last digits). A
 * claim this node cannot check counts at most `unverifiedCap` (one that is missing counts as 1,
 * so as the cap): a liar's claimed 1 weighs no more than that against the checked votes. A claim
 * at or below the cap is not checked: it counts no more than an unchecked claim may.
 */
async function checkedConfidence(ctx: SlotContext, slot: number, task: ExpertTask, peer: PeerInfo, answer: DoneAnswer): Promise<DoneAnswer> {
  if (!ctx.confidence) return answer;
  const { rescore, unverifiedCap } = ctx.confidence;
  const claimed = answer.confidence;
  if (claimed !== undefined && claimed <= unverifiedCap) {
    // No more than an unchecked claim may count anyway, and a check can only lower it: taken as
    // claimed, which spares this node a rescoring (a prompt batch) for about 4 answers in 10.
    ctx.log.debug({ slot, expert: task.expert, peer: peer.name, claimed }, "a remote answer's confidence is within the unverified cap; counted as claimed, unchecked");
    return answer;
  }
  const measured = rescore
    ? await rescore(task, answer, ctx.signal).catch((err: unknown) => {
        ctx.log.warn({ slot, peer: peer.name, err: (err as Error).message }, "could not score a remote answer's confidence here; its claim counts at most the unverified cap");
        return undefined;
      })
    : undefined;
  if (measured === undefined) {
    const counted = Math.min(claimed ?? 1, unverifiedCap);
    ctx.log.info({ slot, expert: task.expert, peer: peer.name, claimed: claimed ?? null, counted }, "a remote answer's confidence could not be checked here; counted at most the unverified cap");
    return { ...answer, confidence: counted };
  }
  const counted = claimed === undefined ? measured : Math.min(claimed, measured);
  if (claimed !== undefined && claimed - measured > OVERSTATED_CONFIDENCE) {
    // Far beyond what another backend's arithmetic explains: held against the peer like an answer
    // that failed its checks.
    ctx.observations.recordMisbehaviour(physicalPeer(peer), "bad_answer");
    ctx.log.warn({ slot, expert: task.expert, peer: peer.name, claimed, measured, counted }, "a peer claimed a higher confidence than its model gives its answer here; counted with this node's figure, and held against it");
  } else {
    ctx.log.info({ slot, expert: task.expert, peer: peer.name, claimed: claimed ?? null, measured, counted }, "scored a remote answer's confidence here");
  }
  return { ...answer, confidence: counted };
}

export const expertModelOf = (task: ExpertTask) => ({ model: task.model, sha256: task.modelSha256, anyPeer: task.kind !== "model" });

/** The checked answer, or why this peer did not give one. */
async function tryPeer(ctx: SlotContext, slot: number, epoch: number, task: ExpertTask, peer: PeerInfo, written?: string, cancel?: AbortSignal): Promise<DoneAnswer | Miss> {
  let assignment = written;
  if (!assignment) {
    try {
      const hash = await ctx.mesh.assignJob({ job: decodeHashFromBase64(ctx.job), assignee: decodeHashFromBase64(peer.agent), slot, epoch });
      assignment = encodeHashToBase64(hash);
    } catch (err) {
      return { reason: `could not write the assignment: ${(err as Error).message}`, kind: null };
    }
  }
  // Which assignment is current decides whose result counts (resource_mesh pays only the slot's
  // newest epoch): logged so an operator (and the chaos run) can tell a superseded write from a lost one.
  ctx.log.info({ slot, epoch, peer: peer.name, assignment }, "slot assigned");
  if (epoch === 1) ctx.onEvent({ type: "moe:assigned", slot, expert: task.expert, model: task.model, peer: peer.name, epoch });
  const req: JobRequest = { job: ctx.job, assignment, slot, epoch, trace_id: ctx.traceId, task };
  for (let attempt = 1; ; attempt++) {
    try {
      return await dispatchOnce(ctx, slot, peer, req, cancel);
    } catch (err) {
      ctx.signal.throwIfAborted();
      // A reset stream or failed dial (not a refusal, not a timeout) may be the connection, not the
      // peer: send the same assignment once more before giving the slot to someone else. The worker
      // stopped the first run when its stream went away, so it cannot answer twice.
      // A malformed progress frame is the peer's doing, not the connection's: no second try.
      const peerFault = err instanceof P2pRemoteError || err instanceof MalformedProgressError;
      if (!(err instanceof P2pRequestError) || peerFault || attempt >= TRANSPORT_ATTEMPTS) return { reason: (err as Error).message, kind: "failure" };
      ctx.log.info({ slot, peer: peer.name, err: (err as Error).message }, "job stream failed; retrying the same assignment");
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const TRANSPORT_ATTEMPTS = 2;
/** Refusals that say nothing bad about the peer: it applied its policy or its quota honestly. */
const HONEST_REFUSALS = new Set(["policy_refused", "busy", "over_limit", "model_not_found", "cancelled"]);

/** The checked answer or why not; throws when the exchange itself failed. */
async function dispatchOnce(ctx: SlotContext, slot: number, peer: PeerInfo, req: JobRequest, cancel?: AbortSignal): Promise<DoneAnswer | Miss> {
  // A worker runs a job's slots one after another when it has one generation at a time: each slot
  // it holds may wait for the others before it starts.
  const queuedBehind = Math.max(1, ctx.placement.heldBy(peer));
  const seenFirstTokenMs = ctx.observations.firstTokenMsOf(physicalPeer(peer), modelKey(expertModelOf(req.task))) ?? 0;
  const watchdog = new SlotWatchdog({
    startDeadlineMs: ctx.startDeadlineMs * queuedBehind,
    progressDeadlineMs: ctx.progressDeadlineMs,
    promptChars: promptChars(req.task),
    // A peer this node has seen take long to its first token gets three times that before it counts as stalled.
    firstTokenAtLeastMs: 3 * seenFirstTokenMs,
    // This node's own slots run in-process: a slow local machine is not a staller to guard against.
    enabled: !peer.self,
  });
  const sentAt = performance.now();
  let startedAt: number | undefined;
  let firstTokenAt: number | undefined;
  let streamed = "";
  let answer: JobAnswer;
  const link = linkSignals(ctx.signal, watchdog.signal, cancel);
  try {
    answer = await ctx.dispatch(peer, req, {
      signal: link.signal,
      timeoutMs: ctx.timeoutMs,
      idleTimeoutMs: ctx.idleTimeoutMs,
      onProgress: (p) => {
        watchdog.progress(p);
        if (p.type === "started") startedAt ??= performance.now();
        if (p.type === "tokens") {
          firstTokenAt ??= performance.now();
          streamed += p.text;
          ctx.onEvent({ type: "moe:token", slot, text: p.text });
        }
      },
    });
  } catch (err) {
    if (cancel?.aborted) return { reason: "cancelled", kind: null };
    if (watchdog.fired && !ctx.signal.aborted) return { reason: watchdog.fired, kind: watchdog.kind };
    throw err;
  } finally {
    link.dispose();
    watchdog.stop();
  }
  // An in-process worker answers "cancelled" instead of throwing when the watchdog or a cancel aborts it.
  if (cancel?.aborted) return { reason: "cancelled", kind: null };
  if (watchdog.fired && !ctx.signal.aborted) return { reason: watchdog.fired, kind: watchdog.kind };
  if (answer.outcome !== "done") return { reason: `${answer.code}: ${answer.message}`, kind: HONEST_REFUSALS.has(answer.code) ? null : "failure" };
  const problem = answerProblem(req.task, peer, answer) ?? streamProblem(streamed, answer.output);
  if (problem) {
    ctx.log.warn({ slot, peer: peer.name, problem }, "refused a worker's answer");
    return { reason: problem, kind: "bad_answer" };
  }
  const doneAt = performance.now();
  const counted = withMeasuredFigures(answer, req.task, doneAt - sentAt);
  recordSpeed(ctx, peer, req.task, counted, { sentAt, startedAt, firstTokenAt, doneAt, queuedBehind });
  return counted;
}

/**
 * The figures of an answer as this node counts them: its latency is the time this node measured
 * from sending the job to the answer (the worker's own figure is a claim: 0, or 9e15, would reach
 * the vote, the CLI and ripple_moe_slot_seconds); its token counts are the worker's claims, bounded
 * by what they could be (a token is at least one byte of the output; the prompt's bound).
 */
function withMeasuredFigures(answer: DoneAnswer, task: ExpertTask, elapsedMs: number): DoneAnswer {
  return {
    ...answer,
    latency_ms: Math.round(elapsedMs),
    tokens: Math.min(answer.tokens, Buffer.byteLength(answer.output, "utf8") + 1),
    prompt_tokens: Math.min(answer.prompt_tokens, maxPromptTokens(task.prompt)),
  };
}

/**
 * Speed by this node's clock: tokens over the time from "started" (or sending) to the answer, and the
 * time from "started" to the first token. The token count is the worker's claim, bounded by the
 * output's bytes (a token is at least one). When "started" came is the worker's word too: one
 * that generates silently and sends "started" with its answer would look a thousand times faster. So
 * the time counted is never below a share of the time since sending (itself shared among the slots
 * this node queued on that peer, which a worker runs one after another): "started" may excuse a
 * model load or a queue, but at most START_EXCUSE_FACTOR times the answer's own time.
 */
function recordSpeed(ctx: SlotContext, peer: PeerInfo, task: ExpertTask, answer: DoneAnswer, t: { sentAt: number; startedAt: number | undefined; firstTokenAt: number | undefined; doneAt: number; queuedBehind: number }): void {
  const tokens = answer.tokens; // already bounded (withMeasuredFigures)
  const sinceSent = t.doneAt - t.sentAt;
  const seconds = Math.max(t.doneAt - (t.startedAt ?? t.sentAt), sinceSent / t.queuedBehind / START_EXCUSE_FACTOR, 50) / 1000;
  const ttftMs = (t.firstTokenAt ?? t.doneAt) - (t.startedAt ?? t.sentAt);
  ctx.observations.recordSuccess(physicalPeer(peer), modelKey(expertModelOf(task)), { ttftMs, tokensPerSecond: tokens / seconds });
}

/**
 * How much faster than its end-to-end time a worker can look by when it says "started": 4× lets an
 * honest worker's cold model load (20 s before 4 s of tokens: measured 33 tok/s instead of 50) count
 * mildly, and caps a liar at 4× what it really delivers (it was unbounded: 1000× and more).
 */
const START_EXCUSE_FACTOR = 4;

/**
 * A worker's answer is the concatenation of the tokens it streamed (the engine builds it so), and
 * what it streamed is what a user watching the slot or a streaming client saw: a worker that streams
 * one text and answers another is refused like a forged answer. A worker that streamed nothing (an
 * in-process test expert) is not held to it.
 */
function streamProblem(streamed: string, output: string): string | null {
  if (streamed === "" || streamed === output) return null;
  let at = 0;
  while (at < streamed.length && at < output.length && streamed[at] === output[at]) at++;
  return `its streamed tokens differ from its answer (${streamed.length} vs ${output.length} characters, first difference at ${at})`;
}

function promptChars(task: ExpertTask): number {
  return task.prompt.kind === "completion" ? task.prompt.text.length : task.prompt.messages.reduce((n, m) => n + m.content.length, 0);
}
