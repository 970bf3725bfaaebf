// The worker: runs the expert tasks this node is assigned, for requesters its compute policy allows.
// A requester wakes it over libp2p (job-protocol.ts) with the slot's task; the worker checks policy
// before anything runs, checks the assignment on the DHT (assignment-check.ts: beside the
// generation, or first for a requester that gave cause), streams the answer back as it is
// generated, then writes the signed result and accounting record to resource_mesh in the
// background (dropped if the assignment, once read, does not back it). A requester that goes away
// (timeout, reassignment) aborts the generation, and nothing is written for it.
import { encodeHashToBase64 } from "@holochain/client";
import type { GenerateRequest, GenerateResult } from "../inference/inference-types.ts";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { JsonRefusal } from "../p2p/json-stream.ts";
import type { ProgressContext } from "../p2p/json-progress-stream.ts";
import type { P2pNode, RequestSender } from "../p2p/p2p-node.ts";
import type { ComputePolicy } from "../config/compute-policy.ts";
import { jobProtocol, jobProtocolMaxBytes, jobRequestSchema, responseHash, type JobAnswer, type JobProgress, type JobRequest } from "../protocol/job-protocol.ts";
import type { ResultWriter } from "./result-writer.ts";
import { RequesterQuota } from "./requester-quota.ts";
import { PerKeyRate } from "../per-key-rate.ts";
import { garbageAnswer } from "./test-experts.ts";
import type { TestLies } from "./test-lies.ts";
import { allocationHonoured, checkJobAllowed } from "./worker-policy.ts";
import { ReservationGate, ReservedNodeError, type ProviderReservation } from "./reservation-gate.ts";
import { AssignmentServes, checkAssignment, CHECK_FIRST_MS, MAX_UNVERIFIED_PER_REQUESTER, SERVES_PER_ASSIGNMENT, UnbackedRequesters, type AssignmentReader, type AssignmentVerdict } from "./assignment-check.ts";
import { linkSignals } from "../linked-signal.ts";
import { within } from "../waits.ts";

export interface Generator {
  generate(req: GenerateRequest): Promise<GenerateResult>;
}

export interface JobWorkerOptions {
  p2p: P2pNode;
  engine: Generator;
  hasModel: (name: string) => boolean;
  /** The sha256 of this node's model of that name (a pinned task must match it). */
  modelSha256?: (name: string) => string | undefined;
  /** Read for every job, so policy edits apply at once. */
  policy: () => ComputePolicy;
  /** Whether an agent (base64) advertises a capability in this node's mesh. */
  isMeshMember: (agent: string) => boolean;
  results: ResultWriter;
  /** Reads a request's assignment and job from resource_mesh (assignment-check.ts). */
  assignments: AssignmentReader;
  /** How long to wait for an assignment to reach this node (default ASSIGNMENT_WAIT_MS). */
  assignmentWaitMs?: number;
  agentPubKey: Uint8Array;
  /** Honour test-only expert kinds (RIPPLE_TEST_EXPERTS=1). */
  testExperts: boolean;
  /** Test-only: how this worker lies (worker/test-lies.ts); read at every job. */
  testLies?: () => TestLies;
  /** Jobs this node runs at once (the engine's limit): what allocations hold slots of. */
  capacity?: () => number;
  /** Active allocations of this node by other peers (read from the DHT in the background). */
  reservations?: () => readonly ProviderReservation[];
  log: Logger;
  emit: (event: { type: string; [k: string]: unknown }) => void;
  /** This node's clock (ms; tests). */
  now?: () => number;
  /** Counts every slot served, failed or refused (GET /metrics). */
  metrics?: Pick<NodeMetrics, "workerJobFinished" | "workerJobRefused">;
}

/** Streamed text is sent in batches at most this often, so a fast model does not send a frame per token. */
const TOKEN_FLUSH_MS = 50;
/** Well under the requester's idle timeout (half the slot timeout, 30 s by default). */
const KEEPALIVE_MS = 5_000;
/** An assignment check slower than this is logged at info: gossip was slow to bring the assignment. */
const SLOW_ASSIGNMENT_MS = 1_000;
/** Refusals of one requester recorded a minute (warning, job:refused event, served history); more only count in the metric. */
export const REFUSALS_RECORDED_PER_MINUTE = 12;

export class JobWorker {
  private running = 0;
  private readonly quota = new RequesterQuota();
  private readonly refusalsRecorded = new PerKeyRate();
  private readonly reservationGate = new ReservationGate();
  private readonly assignmentServes = new AssignmentServes();
  private readonly unbacked: UnbackedRequesters;
  /** Assignment checks still open, per requester. */
  private readonly unverified = new Map<string, number>();
  /** Refusals of requests whose assignment did not back them (counted as "unassigned"). */
  private readonly unassignedAnswers = new WeakSet<JobAnswer>();

  constructor(private readonly opts: JobWorkerOptions) {
    this.unbacked = new UnbackedRequesters(opts.now);
  }

  async start(): Promise<void> {
    await this.opts.p2p.handleProgress(jobProtocol, (req, from, ctx) => this.handle(req, from, ctx), { maxBytes: jobProtocolMaxBytes });
  }

  /** Jobs running now (advertised in heartbeats). */
  get active(): number {
    return this.running;
  }

  private async handle(raw: unknown, from: RequestSender, ctx: ProgressContext): Promise<JobAnswer> {
    const parsed = jobRequestSchema.safeParse(raw);
    if (!parsed.success) {
      this.opts.metrics?.workerJobRefused("bad_request");
      throw new JsonRefusal("bad-request", `not a job request: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
    }
    return this.serve(parsed.data, from.agentPubKey!, ctx);
  }

  /** Runs one slot for a requester (a peer over libp2p, or this node's own coordinator in-process). */
  async serve(req: JobRequest, requesterKey: Uint8Array, ctx: ProgressContext): Promise<JobAnswer> {
    const requester = encodeHashToBase64(requesterKey);
    const self = requester === encodeHashToBase64(this.opts.agentPubKey);
    const log = this.opts.log.child({ job: req.job, slot: req.slot, epoch: req.epoch, trace: req.trace_id, expert: req.task.expert });
    let release = () => {};
    try {
      const policy = this.opts.policy();
      const registered = this.opts.hasModel(req.task.model);
      checkJobAllowed(policy, req.task, {
        requester,
        requesterInMesh: this.opts.isMeshMember(requester),
        modelRegistered: registered,
        modelSha256: registered ? this.opts.modelSha256?.(req.task.model) : undefined,
        testExperts: this.opts.testExperts,
      });
      // This node's own requests are bounded by the engine's queue, not by a quota on itself.
      const quotaRelease = self ? () => {} : this.quota.admit(requester, policy.worker.per_requester);
      let held: () => void;
      try {
        held = this.reservationGate.admit(requester, req.task.model, {
          capacity: this.opts.capacity?.() ?? 1,
          reservations: this.opts.reservations?.() ?? [],
          limits: policy.worker.allocations,
          honoured: (agent) => allocationHonoured(policy, agent, this.opts.isMeshMember(agent)),
          self: encodeHashToBase64(this.opts.agentPubKey),
        });
      } catch (err) {
        quotaRelease();
        throw err;
      }
      release = () => (quotaRelease(), held());
      if (!self && !this.assignmentServes.take(req.assignment)) {
        release();
        release = () => {};
        throw new InferenceError("policy_refused", `assignment ${req.assignment} was already served ${SERVES_PER_ASSIGNMENT} times`, "assign the slot again (a new epoch) to have it run again");
      }
    } catch (err) {
      if (!(err instanceof InferenceError)) throw err;
      // Refusals cost the requester nothing, so what they cost here is bounded: a node outside the
      // mesh (any fresh key can bind) leaves no trace but a debug line and the metric, and a member
      // at most REFUSALS_RECORDED_PER_MINUTE warnings, events and served-history entries a minute.
      if (!self && (!this.opts.isMeshMember(requester) || !this.refusalsRecorded.take(requester, REFUSALS_RECORDED_PER_MINUTE))) {
        log.debug({ requester, code: err.code, reason: err.message }, "job refused by policy (not recorded: outside the mesh, or over its refusals a minute)");
      } else {
        log.warn({ requester, code: err.code, reason: err.message }, "job refused by policy");
        this.opts.emit({ type: "job:refused", job: req.job, slot: req.slot, requester, code: err.code, reason: err.message });
      }
      this.opts.metrics?.workerJobRefused(err instanceof ReservedNodeError ? "reserved" : err.code === "busy" ? "requester_quota" : err.code);
      return { outcome: "refused", code: err.code, message: err.message };
    }
    this.running++;
    this.opts.emit({ type: "job:started", job: req.job, slot: req.slot, epoch: req.epoch, expert: req.task.expert, requester });
    try {
      const answer = this.counted(await this.run(req, requester, self, ctx, log));
      if (answer.outcome === "refused") this.opts.emit({ type: "job:failed", job: req.job, slot: req.slot, epoch: req.epoch, code: answer.code, reason: answer.message });
      return answer;
    } finally {
      this.running--;
      release();
    }
  }

  /** A slot's answer, counted: "failed" is a generation error, any other refusal counts by its code. */
  private counted(answer: JobAnswer): JobAnswer {
    if (answer.outcome === "done") this.opts.metrics?.workerJobFinished("done");
    else if (answer.code === "failed") this.opts.metrics?.workerJobFinished("failed");
    else this.opts.metrics?.workerJobRefused(this.unassignedAnswers.has(answer) ? "unassigned" : answer.code);
    return answer;
  }

  /**
   * Whether the request's assignment is on the DHT and backs it. It runs to its end even after the
   * slot's run (at most ASSIGNMENT_WAIT_MS): a requester whose request it did not back is marked,
   * and a generation still running for it is stopped.
   */
  private async checkAssignment(req: JobRequest, requester: string, stop: AbortController, log: Logger): Promise<AssignmentVerdict> {
    const self = encodeHashToBase64(this.opts.agentPubKey);
    const waitMs = this.opts.assignmentWaitMs;
    const startedAt = performance.now();
    this.unverified.set(requester, (this.unverified.get(requester) ?? 0) + 1);
    try {
      const verdict = await checkAssignment(this.opts.assignments, req, { requester, self }, waitMs !== undefined ? { waitMs } : {}).catch(
        (err: Error): AssignmentVerdict => ({ backed: false, problem: `could not check assignment ${req.assignment}: ${err.message}`, read: false }),
      );
      const ms = Math.round(performance.now() - startedAt);
      if (verdict.backed === true) log[ms > SLOW_ASSIGNMENT_MS ? "info" : "debug"]({ ms }, "assignment checked");
      if (verdict.backed === false) {
        // Its next jobs run only once checked; a generation still running stops; an answered result
        // whose assignment was read and does not back it is not written (one not read yet is left
        // to the writer's own retries: a slow DHT must not cost an honest worker its accounting).
        this.unbacked.mark(requester);
        stop.abort(new InferenceError("policy_refused", verdict.problem, "none"));
        if (verdict.read) this.opts.results.drop(req, verdict.problem);
        log.warn({ requester, problem: verdict.problem, checkFirstMinutes: CHECK_FIRST_MS / 60_000 }, "a job's assignment does not back it");
      }
      return verdict;
    } finally {
      const open = (this.unverified.get(requester) ?? 1) - 1;
      if (open > 0) this.unverified.set(requester, open);
      else this.unverified.delete(requester);
    }
  }

  /** The answer to a request its assignment does not back (policy_refused, an honest refusal: a slow DHT can cause it). */
  private unassigned(verdict: AssignmentVerdict, log: Logger): JobAnswer {
    const problem = verdict.backed === false ? verdict.problem : "the assignment check did not finish";
    log.warn({ problem }, "job not run: its assignment does not back it");
    const answer: JobAnswer = { outcome: "refused", code: "policy_refused", message: `not run: ${problem}` };
    this.unassignedAnswers.add(answer);
    return answer;
  }

  /**
   * Runs one slot for a requester. Another node's slot has its assignment checked: beside the
   * generation (gossip takes seconds to bring an assignment here, which an honest slot should not
   * wait for; a failed check stops the generation, or drops the result if it was answered); or
   * first, before anything runs, for a requester with MAX_UNVERIFIED_PER_REQUESTER checks still
   * open or one caught with an unbacked request within CHECK_FIRST_MS.
   */
  private async run(req: JobRequest, requester: string, self: boolean, ctx: ProgressContext, log: Logger): Promise<JobAnswer> {
    const lies = this.opts.testLies?.() ?? {};
    const checkFirst = !self && (this.unbacked.checkFirst(requester) || (this.unverified.get(requester) ?? 0) >= MAX_UNVERIFIED_PER_REQUESTER);
    const stop = new AbortController();
    const checked: Promise<AssignmentVerdict> = self ? Promise.resolve({ backed: true }) : this.checkAssignment(req, requester, stop, log);
    // A job waiting in the engine's queue, for a model to load or for its check sends nothing for a
    // while; the requester's idle timeout is for dead or wedged workers, so say "still here" regularly.
    const keepAlive = setInterval(() => void ctx.emit({ type: "queued" } satisfies JobProgress).catch(() => {}), KEEPALIVE_MS);
    const generation = linkSignals(ctx.signal, stop.signal);
    try {
      if (checkFirst) {
        const first = await within(checked, undefined, ctx.signal);
        if (first.kind !== "value") return { outcome: "refused", code: "cancelled", message: "the requester left" };
        if (first.value.backed !== true) return this.unassigned(first.value, log);
      }
      // The requester's own prompts only: one requester never learns from timing what another sent.
      const generated = await this.generate(req, ctx, { signal: generation.signal, lies, promptReuseScope: requester }, log);
      if (stop.signal.aborted) return this.unassigned(await checked, log);
      if (!("text" in generated)) return generated;
      return this.answered(req, requester, generated, { requesterLeft: ctx.signal.aborted, lies }, log);
    } finally {
      clearInterval(keepAlive);
      generation.dispose();
    }
  }

  /** Generates the slot's answer, streaming it to the requester: the result, or the refusal to answer with (a generation that failed). */
  private async generate(req: JobRequest, ctx: ProgressContext, run: { signal: AbortSignal; lies: TestLies; promptReuseScope: string }, log: Logger): Promise<GenerateResult | JobAnswer> {
    const { lies } = run;
    const stream = new TokenBatcher((text) => ctx.emit({ type: "tokens", text } satisfies JobProgress));
    // "started" means generating: the requester's progress deadline runs from it, so it is sent
    // only once the job has left the engine's queue and its model is loaded.
    let started = false;
    const markStarted = () => {
      if (started) return;
      started = true;
      void ctx.emit({ type: "started" } satisfies JobProgress).catch(() => {});
    };
    try {
      if (lies.stall) {
        markStarted();
        await stallUntilAborted(run.signal);
      }
      let result =
        req.task.kind === "garbage"
          ? (markStarted(), garbageAnswer(req.task))
          : await this.opts.engine.generate({
              ...req.task,
              signal: run.signal,
              promptReuseScope: run.promptReuseScope,
              onStart: markStarted,
              onToken: (t) => {
                markStarted();
                if (lies.answer === undefined) stream.push(t);
              },
            });
      if (lies.answer !== undefined) {
        stream.push(lies.answer);
        result = { ...result, text: lies.answer };
      }
      if (lies.model_sha256) result = { ...result, model: { ...result.model, sha256: lies.model_sha256 } };
      if (lies.confidence !== undefined && result.confidence !== undefined) result = { ...result, confidence: lies.confidence };
      return result;
    } catch (err) {
      if (ctx.signal.aborted) log.info("the requester left; generation stopped");
      if (err instanceof InferenceError) return { outcome: "refused", code: err.code, message: err.message };
      log.error({ err }, "generation failed");
      return { outcome: "refused", code: "failed", message: (err as Error).message };
    } finally {
      await stream.flush();
    }
  }

  /** The answer to a slot, returned and written to resource_mesh unless the requester left (a failed check drops the write: checkAssignment). */
  private answered(req: JobRequest, requester: string, result: GenerateResult, how: { requesterLeft: boolean; lies: TestLies }, log: Logger): JobAnswer {
    const { lies } = how;
    if (how.requesterLeft || result.finishReason === "aborted") {
      log.info({ tokens: result.tokens }, "the requester left; no result written");
      return { outcome: "refused", code: "cancelled", message: "the requester left" };
    }
    const hash = responseHash(result.text);
    const sentHash = lies.forge_response_hash ? responseHash(`${result.text} (forged)`) : hash;
    // Queued (and kept in the data dir) at once, so that a restart resumes it.
    this.opts.results.write({
      job: req.job,
      assignment: req.assignment,
      output: result.text,
      responseHash: hash,
      tokens: result.tokens,
      latencyMs: Math.round(result.latencyMs),
      modelSha256: result.model.sha256,
      requester,
    });
    log.info({ tokens: result.tokens, ms: Math.round(result.latencyMs) }, "job slot answered");
    this.opts.emit({ type: "job:answered", job: req.job, slot: req.slot, epoch: req.epoch, tokens: result.tokens, latency_ms: Math.round(result.latencyMs) });
    return {
      outcome: "done",
      output: result.text,
      response_hash: sentHash,
      tokens: result.tokens,
      prompt_tokens: result.promptTokens,
      latency_ms: Math.round(result.latencyMs),
      model: result.model,
      finish_reason: result.finishReason,
      ...(result.stopSequence !== undefined ? { stop_sequence: result.stopSequence } : {}),
      ...(result.confidence !== undefined ? { confidence: Math.round(result.confidence * 10_000) / 10_000 } : {}),
    };
  }
}

/** Test-only staller: holds the slot (keep-alives still go out) until the requester gives up. */
function stallUntilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new InferenceError("cancelled", "the requester left a stalled job", "none: test-only staller"));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

/** Collects streamed text and sends it in batches, in order, one send at a time. */
class TokenBatcher {
  private buffer = "";
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(private readonly send: (text: string) => Promise<void>) {}

  push(text: string): void {
    this.buffer += text;
    this.timer ??= setTimeout(() => void this.flush(), TOKEN_FLUSH_MS);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.buffer;
    this.buffer = "";
    if (text) this.sending = this.sending.then(() => this.send(text)).catch(() => {});
    return this.sending;
  }
}
