// The requester side of inference: turns an MOE request (or a single-model ask) into one
// resource_mesh job with one slot per expert, places each slot on a live peer, runs the slots in
// parallel (with reassignment), merges the answers by weighted consensus and records the outcome.
import { randomUUID } from "node:crypto";
import { resourceMesh } from "@ripple-mesh/zome-bindings";
import type { AskRequest, AskResult, MoeEvent } from "@ripple-mesh/api-types";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";
import type { PeerInfo } from "../mesh/peer-view.ts";
import { resolvePeerRef } from "../mesh/peer-ref.ts";
import { callCloudExpert, type CloudAnswer } from "./cloud-expert.ts";
import { expertTask, type ExpertTask } from "../protocol/expert-task.ts";
import { JobPlacement, physicalPeer, type PeerJudge } from "./expert-placement.ts";
import { expandSamples, expertWeight, type ExpertSpec } from "../config/inference-policy.ts";
import { confidenceFactor } from "./vote-confidence.ts";
import type { ModelVote, MoeRequest, MoeResult } from "./moe-types.ts";
import { MoeAudit } from "./moe-audit.ts";
import { NoConsensusError, reduce, type ReducerAnswer } from "./reducer.ts";
import type { PeerRating } from "./peer-rating.ts";
import { expertModelOf, runSlot, type ConfidenceCheck, type Dispatch, type SlotContext, type SlotOutcome } from "./slot-runner.ts";
import { countedWeights, diversityOf, voiceOf } from "./vote-voice.ts";
import { QuorumWatch } from "./quorum-watch.ts";
import { JobPoster, type JobPosterOptions, type PlannedSlot } from "./job-poster.ts";

export interface MoeCoordinatorOptions extends JobPosterOptions {
  /** What this node measured of its peers, and how it rates their claims (placement uses it). */
  rating: PeerRating;
  /** Whether this node holds an active allocation of the peer for the model: placed first (mesh/allocations.ts). */
  reserved?: PeerJudge["reserved"];
  /** This node's own score of a remote answer's confidence (used when reducer.confidence is on). */
  rescore?: ConfidenceCheck["rescore"];
  dispatch: Dispatch;
  audit: MoeAudit;
  env?: NodeJS.ProcessEnv;
}

/** Longest silence from a working peer before its slot is reassigned (a hung or wedged worker). */
const IDLE_FRACTION = 0.5;
/** How long a finished slot is remembered for discounting heartbeat load (well over a heartbeat interval). */
const FINISHED_MEMORY_MS = 5 * 60_000;

export class MoeCoordinator {
  /**
   * When this node's slots finished on each peer (agent → Unix ms). A peer's load comes from its
   * last heartbeat, which still counts our slots that have finished since; back-to-back jobs would
   * otherwise see their workers as busy and pile slots onto the rest.
   */
  private readonly finishedOn = new Map<string, number[]>();

  private readonly poster: JobPoster;
  /** Placement's judgement of peers: the rating, plus this node's reservations. */
  private readonly judge: PeerJudge;

  constructor(private readonly opts: MoeCoordinatorOptions) {
    this.poster = new JobPoster(opts);
    const { rating } = opts;
    this.judge = { rate: rating.rate, suspect: rating.suspect, ...(opts.reserved ? { reserved: opts.reserved } : {}) };
  }

  async moe(req: MoeRequest, ctl: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }): Promise<MoeResult> {
    const started = performance.now();
    const { policy } = this.opts;
    const taskType = req.taskType ?? policy.default_task_type;
    const kind = policy.task_types[taskType];
    if (!kind) throw new InferenceError("bad_request", `unknown task type "${taskType}"`, `use one of: ${Object.keys(policy.task_types).join(", ")}`);
    const maxTokens = this.checkMaxTokens(req.maxTokens);
    const experts = this.chooseExperts(taskType, req.experts);
    const traceId = req.traceId ?? randomUUID();
    const cloud = this.cloudProviders();
    const placement = new JobPlacement(experts.length, this.judge);
    const plan = this.place(placement, experts.map((e) => ({ expert: e, task: expertTask(policy, e, { prompt: req.prompt, taskType, maxTokens }) })));
    if (plan.length === 0 && cloud.length === 0) throw this.noPeerError(experts.map((e) => e.model));
    // The slots a timed-out cloud provider may hand to the heaviest local expert are listed in the
    // job too (not assigned yet), so that a worker's assignment check finds them. Only their
    // numbers are kept from here: an open job's claims may still move plan[0] to another peer.
    const fallbacks = plan.length === 0 ? [] : cloud.filter((c) => c.fallback_on_timeout).map((_, k) => ({ ...plan[0]!, slot: plan.length + cloud.length + k }));
    const { job, assignments } = req.open
      ? await this.poster.postOpenJob({ prompt: req.prompt, taskType, traceId, plan, fallbacks, signal: ctl.signal })
      : await this.poster.writeJob({ prompt: req.prompt, taskType, traceId, plan, fallbacks, kind: "moe" });
    const onEvent = ctl.onEvent ?? (() => {});
    const ctx = this.slotContext(job, traceId, placement, ctl.signal, onEvent, { vote: true });
    const cloudPrompt = { prompt: req.prompt, instruction: kind.instruction, maxTokens, signal: ctl.signal, env: this.opts.env ?? process.env };
    const quorum = this.quorumWatch(req, kind.answer, ctx.log);
    const [outcomes, cloudAnswers] = await Promise.all([
      Promise.all(
        plan.map((p) => {
          const cancel = quorum.expect(p.slot, p.expert.weight, true);
          return runSlot(ctx, p.slot, p.task, p.peer, assignments[p.slot], cancel).then((o) => {
            if (o.ok) quorum.answer({ slot: o.slot, weight: this.voteWeight(p.expert.weight, o.answer.confidence), text: o.answer.output, remotePeer: voiceOf(o.peer) });
            else quorum.settle(o.slot);
            return this.finished(o);
          });
        }),
      ),
      Promise.all(
        cloud.map((provider, i) => {
          quorum.expect(plan.length + i, provider.weight, false);
          return callCloudExpert(provider, cloudPrompt, plan.length + i).then((c) => {
            if (c.ok) quorum.answer({ slot: c.vote.slot, weight: c.vote.weight, text: c.vote.output, remotePeer: null });
            else quorum.settle(plan.length + i);
            return c;
          });
        }),
      ),
    ]);
    // A cloud provider that timed out with fallback_on_timeout hands its slot to the heaviest local
    // expert, under a slot number of its own (after the local and the cloud slots: each vote is one slot).
    let nextFallback = 0;
    for (const c of cloudAnswers) {
      if (c.ok || !c.timedOut || !c.fallback || plan.length === 0 || quorum.decidedAfter !== undefined) continue;
      const fallback = { ...plan[0]!, slot: fallbacks[nextFallback++]!.slot };
      plan.push(fallback);
      outcomes.push(await runSlot(ctx, fallback.slot, fallback.task, fallback.peer));
    }
    const skipped = experts.filter((e) => !plan.some((p) => p.expert === e));
    return this.conclude({ req, taskType, answerKind: kind.answer, traceId, job, plan, outcomes, cloudAnswers, skipped, started, quorum });
  }

  /** `quorum: early` (the policy's default, or the request's) stops a job once its outcome is decided (short answers) or a majority agreed (long ones). */
  private quorumWatch(req: MoeRequest, answerKind: "short" | "long", log: Logger): QuorumWatch {
    const mode = req.quorum ?? this.opts.policy.reducer.quorum;
    return new QuorumWatch({
      early: mode === "early",
      answerKind,
      minAgreement: this.opts.policy.reducer.min_agreement,
      onDecided: (cancelled) =>
        log.info({ cancelled, answerKind }, answerKind === "short" ? "quorum reached: the outcome cannot change; cancelling the slots still running" : "quorum reached: a majority of the job's weight agrees; cancelling the slots still running"),
    });
  }

  /** One model somewhere on the mesh (inference.single_query): a job with one slot, no vote. */
  async ask(req: AskRequest, ctl: { signal: AbortSignal; onToken?: (text: string) => void }): Promise<AskResult> {
    const started = performance.now();
    const maxTokens = this.checkMaxTokens(req.maxTokens);
    const traceId = randomUUID();
    const task: ExpertTask = {
      expert: `ask:${req.model}`.slice(0, 64),
      kind: "model",
      model: req.model,
      prompt: { kind: "chat", messages: req.messages },
      sampling: {
        temperature: req.temperature ?? 0,
        ...(req.topP !== undefined ? { topP: req.topP } : {}),
        ...(req.topK !== undefined ? { topK: req.topK } : {}),
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
      },
      maxTokens,
      ...(req.stop ? { stop: req.stop } : {}),
    };
    const expert = { name: task.expert, model: req.model, weight: 1 } as ExpertSpec;
    const placement = new JobPlacement(1, this.judge);
    const plan = this.place(placement, [{ expert, task }], req.peer);
    if (plan.length === 0) throw req.peer ? this.peerUnavailableError(req.peer, req.model) : this.noPeerError([req.model]);
    const prompt = req.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
    const { job, assignments } = await this.poster.writeJob({ prompt, taskType: "single_query", traceId, plan, kind: "ask" });
    // No vote: the answer's confidence would weigh nothing, so it is not checked (a rescoring each).
    const ctx = this.slotContext(
      job,
      traceId,
      placement,
      ctl.signal,
      (e) => {
        if (e.type === "moe:token") ctl.onToken?.(e.text);
      },
      { vote: false },
    );
    const outcome = this.finished(await runSlot(ctx, 0, task, plan[0]!.peer, assignments[0]));
    if (!outcome.ok) throw new InferenceError("failed", `${req.model} did not answer: ${outcome.error}`, "see the named peers' logs; retry, or ask another model");
    const { answer } = outcome;
    this.opts.log.info({ job, model: req.model, peer: outcome.peer.name, tokens: answer.tokens, ms: Math.round(performance.now() - started) }, "single query answered");
    return {
      text: answer.output,
      model: req.model,
      peer: outcome.peer.name,
      tokens: answer.tokens,
      promptTokens: answer.prompt_tokens,
      latencyMs: Math.round(performance.now() - started),
      finishReason: answer.finish_reason,
      ...(answer.stop_sequence !== undefined && req.stop?.includes(answer.stop_sequence) ? { stopSequence: answer.stop_sequence } : {}),
      traceId,
    };
  }

  private checkMaxTokens(requested: number | undefined): number {
    const limit = 4096;
    const maxTokens = requested ?? this.opts.policy.local_tier.max_tokens;
    if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > limit) {
      throw new InferenceError("over_limit", `max_tokens ${requested} is outside 1..${limit}`, `ask for at most ${limit} tokens`);
    }
    return maxTokens;
  }

  /** The experts specialised in the task type, heaviest first, as many as asked within the policy's bounds. */
  private chooseExperts(taskType: string, wanted: number | undefined): ExpertSpec[] {
    const tier = this.opts.policy.local_tier;
    if (wanted !== undefined && (wanted < 1 || wanted > tier.max_parallel)) {
      throw new InferenceError("over_limit", `${wanted} experts asked for; this node's policy allows 1..${tier.max_parallel}`, `ask for at most ${tier.max_parallel} experts (local_tier.max_parallel)`);
    }
    const eligible = tier.experts.filter((e) => e.specialization.includes(taskType));
    const pool = eligible.length > 0 ? eligible : tier.experts;
    const count = Math.min(wanted ?? tier.max_parallel, pool.length);
    // Stable: policy order breaks weight ties.
    // Each expert votes with its weight for this task type (calibrated per type when the policy says);
    // a self-consistency expert becomes one slot per sample.
    return pool
      .map((e, i) => ({ e: { ...e, weight: expertWeight(e, taskType) }, i }))
      .sort((a, b) => b.e.weight - a.e.weight || a.i - b.i)
      .slice(0, count)
      .flatMap(({ e }) => expandSamples(e));
  }

  /** Places each expert on a peer; experts whose model no online peer serves are left out. */
  private finished(outcome: SlotOutcome): SlotOutcome {
    if (!outcome.ok) return outcome;
    const now = Date.now();
    this.forgetFinishedBefore(now - FINISHED_MEMORY_MS);
    this.finishedOn.set(outcome.peer.agent, [...(this.finishedOn.get(outcome.peer.agent) ?? []), now]);
    return outcome;
  }

  /** Slots finished before `cutoffMs` no longer matter; peers with none left are dropped (agents come and go). */
  private forgetFinishedBefore(cutoffMs: number): void {
    for (const [agent, times] of this.finishedOn) {
      const recent = times.filter((t) => t >= cutoffMs);
      if (recent.length === 0) this.finishedOn.delete(agent);
      else if (recent.length < times.length) this.finishedOn.set(agent, recent);
    }
  }

  /** The peer's active jobs as its last heartbeat said, less ours that finished after that heartbeat. */
  private withCurrentLoad(p: PeerInfo): PeerInfo {
    const since = p.lastHeartbeatMs ?? 0;
    const finishedSince = (this.finishedOn.get(p.agent) ?? []).filter((t) => t > since).length;
    return finishedSince === 0 ? p : { ...p, activeJobs: Math.max(0, p.activeJobs - finishedSince) };
  }

  private place(placement: JobPlacement, items: Array<{ expert: ExpertSpec; task: ExpertTask }>, only?: string): PlannedSlot[] {
    const all = this.opts.peers();
    const chosen = only === undefined ? undefined : resolvePeerRef(all, only);
    const peers = (only === undefined ? all : chosen ? [chosen] : []).map((p) => this.withCurrentLoad(p));
    const plan: PlannedSlot[] = [];
    for (const item of items) {
      const peer = placement.place(expertModelOf(item.task), peers);
      if (peer) plan.push({ slot: plan.length, ...item, peer });
    }
    return plan;
  }

  private noPeerError(models: string[]): InferenceError {
    const online = this.opts.peers().filter((p) => p.online);
    const held = [...new Set(online.flatMap((p) => p.models))];
    return new InferenceError(
      "no_peer",
      `no online node of this mesh serves ${[...new Set(models)].join(", ")} (${online.length} online node(s) serve: ${held.join(", ") || "nothing"})`,
      "register the model on a node (`ripple models add FILE --name NAME`) or pick a model from `ripple models list`",
    );
  }

  private peerUnavailableError(peer: string, model: string): InferenceError {
    const found = resolvePeerRef(this.opts.peers(), peer);
    const why = !found ? "is not a node of this mesh" : !found.online ? "is offline" : `does not serve ${model} (it serves: ${found.models.join(", ") || "nothing"})`;
    return new InferenceError("no_peer", `peer "${peer}" ${why}`, "pick an online node that serves the model from `ripple peers`, or leave the peer out");
  }

  private cloudProviders() {
    const tier = this.opts.policy.cloud_tier;
    return tier.enabled ? [...tier.providers].sort((a, b) => a.priority - b.priority) : [];
  }

  private slotContext(job: string, traceId: string, placement: JobPlacement, signal: AbortSignal, onEvent: (e: MoeEvent) => void, kind: { vote: boolean }): SlotContext {
    const tier = this.opts.policy.local_tier;
    return {
      job,
      traceId,
      mesh: resourceMesh(this.opts.zomes),
      dispatch: this.opts.dispatch,
      peers: this.opts.peers,
      placement,
      observations: this.opts.rating.observations,
      timeoutMs: tier.timeout_ms,
      idleTimeoutMs: Math.round(tier.timeout_ms * IDLE_FRACTION),
      progressDeadlineMs: tier.progress_deadline_ms,
      startDeadlineMs: tier.start_deadline_ms,
      maxReassignments: tier.max_reassignments,
      signal,
      onEvent,
      log: this.opts.log.child({ job, trace: traceId }),
      // Only when confidence weighs votes: otherwise the figure changes nothing and scoring costs a slot.
      ...(kind.vote && this.opts.policy.reducer.confidence
        ? { confidence: { unverifiedCap: this.opts.policy.reducer.unverified_confidence_cap, ...(this.opts.rescore ? { rescore: this.opts.rescore } : {}) } }
        : {}),
    };
  }

  /** A vote's weight before one-machine-one-voice scaling: the expert's, × its confidence when the policy says so. */
  private voteWeight(weight: number, confidence: number | undefined): number {
    const { reducer } = this.opts.policy;
    return reducer.confidence ? weight * confidenceFactor(confidence, reducer.confidence_exponent) : weight;
  }

  private async conclude(input: {
    req: MoeRequest;
    taskType: string;
    answerKind: "short" | "long";
    traceId: string;
    job: string;
    plan: PlannedSlot[];
    outcomes: SlotOutcome[];
    cloudAnswers: CloudAnswer[];
    skipped: ExpertSpec[];
    started: number;
    quorum: QuorumWatch;
  }): Promise<MoeResult> {
    const { policy } = this.opts;
    const votes: Omit<ModelVote, "agreed" | "counted_weight">[] = [];
    const rejected = input.outcomes.flatMap((o) => o.rejected);
    const cancelled: MoeResult["cancelled_slots"] = [];
    const failed: MoeResult["failed_slots"] = input.skipped.map((e) => ({ slot: -1, expert: e.name, error: `no online node serves ${e.model}` }));
    // By slot number, not position: a fallback slot is numbered after the cloud slots.
    const planned = new Map(input.plan.map((p) => [p.slot, p]));
    const voiceBySlot = new Map<number, string | null>();
    for (const o of input.outcomes) {
      const p = planned.get(o.slot)!;
      if (!o.ok && o.cancelled) {
        cancelled.push({ slot: o.slot, expert: p.expert.name, peer: o.peer });
        continue;
      }
      if (!o.ok) {
        failed.push({ slot: o.slot, expert: p.expert.name, error: o.error });
        continue;
      }
      const a = o.answer;
      const peerId = o.peer.self ? null : physicalPeer(o.peer);
      voiceBySlot.set(o.slot, voiceOf(o.peer));
      const confidence = a.confidence === undefined ? {} : { confidence: a.confidence };
      votes.push({ model: p.expert.model, expert: p.expert.name, peer: o.peer.name, peer_id: peerId, response_hash: a.response_hash, weight: p.expert.weight, latency_ms: a.latency_ms, slot: o.slot, epoch: o.epoch, tokens: a.tokens, prompt_tokens: a.prompt_tokens, output: a.output, ...confidence });
    }
    for (const c of input.cloudAnswers) {
      if (c.ok) votes.push(c.vote);
      else failed.push({ slot: c.slot, expert: c.expert, error: c.error });
    }
    if (votes.length === 0) {
      throw new InferenceError("failed", `no expert answered: ${failed.map((f) => `${f.expert}: ${f.error}`).join("; ")}`, "check that the named peers are online and allow this node (ripple peers); retry");
    }
    const voices = votes.map((v) => ({ slot: v.slot, weight: this.voteWeight(v.weight, v.confidence), remotePeer: voiceBySlot.get(v.slot) ?? null }));
    const counted = countedWeights(voices);
    const answers: ReducerAnswer[] = votes.map((v) => ({ slot: v.slot, expert: v.expert, weight: counted.get(v.slot)!, text: v.output }));
    const requireConsensus = input.req.requireConsensus ?? policy.reducer.require_consensus;
    let reduction;
    try {
      reduction = reduce(answers, { answerKind: input.answerKind, minAgreement: policy.reducer.min_agreement, requireConsensus, conflictResolution: policy.reducer.conflict_resolution });
    } catch (err) {
      if (err instanceof NoConsensusError) throw new InferenceError("failed", err.message, err.fix, { cause: err });
      throw err;
    }
    const model_votes: ModelVote[] = votes.map((v, i) => ({ ...v, counted_weight: Math.round(counted.get(v.slot)! * 10_000) / 10_000, agreed: reduction.agreed[i]! }));
    const result: MoeResult = {
      response: reduction.response,
      consensus_score: reduction.consensusScore,
      consensus_reached: reduction.consensusReached,
      model_votes,
      trace_id: input.traceId,
      task_type: input.taskType,
      job: input.job,
      wall_ms: Math.round(performance.now() - input.started),
      failed_slots: failed,
      diversity: diversityOf(voices, input.plan.length + input.cloudAnswers.length),
      rejected_answers: rejected,
      cancelled_slots: cancelled,
      stopped_early: input.quorum.decidedAfter !== undefined,
    };
    await this.opts.audit.record(input.req.prompt, result);
    return result;
  }
}

