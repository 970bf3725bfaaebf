// Inference within one joined mesh: the worker that serves this node's assignments, the writer of
// its results, and the coordinator that runs this node's own MOE and single-model requests on the
// mesh. Started after the mesh session, stopped before it.
import { join } from "node:path";
import { decodeHashFromBase64, encodeHashToBase64 } from "@holochain/client";
import { resourceMesh, type ZomeCaller } from "@ripple-mesh/zome-bindings";
import type { AskRequest, AskResult, MoeEvent } from "@ripple-mesh/api-types";
import { loadHardwareClasses } from "../capability/hardware-classes.ts";
import type { NodeInference } from "../inference/node-inference.ts";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import { boundAgentKeys, onlineUnboundPeer, withRemoteIps, type PeerInfo } from "../mesh/peer-view.ts";
import { MoeAudit } from "../moe/moe-audit.ts";
import { MoeCoordinator } from "../moe/moe-coordinator.ts";
import type { JobPayloadStore } from "../moe/job-poster.ts";
import type { MoeRequest, MoeResult } from "../moe/moe-types.ts";
import type { DoneAnswer } from "../moe/answer-check.ts";
import type { ExpertTask } from "../protocol/expert-task.ts";
import { PeerObservations } from "../moe/peer-observations.ts";
import { PeerRating } from "../moe/peer-rating.ts";
import type { Dispatch } from "../moe/slot-runner.ts";
import type { P2pNode } from "../p2p/p2p-node.ts";
import { jobAnswerSchema, jobProtocol, jobProtocolMaxBytes, type JobProgress } from "../protocol/job-protocol.ts";
import { openJobNoticeSchema, openJobProtocol, openJobProtocolMaxBytes, type OpenJobNotice } from "../protocol/open-job-protocol.ts";
import { JobProgressCheck } from "../protocol/job-progress.ts";
import type { RequestSender } from "../p2p/inbound-gate.ts";
import type { ProviderReservation } from "../worker/reservation-gate.ts";
import { JobWorker } from "../worker/job-worker.ts";
import { OpenJobClaimer } from "../worker/open-job-claimer.ts";
import { PerKeyRate } from "../per-key-rate.ts";
import { ResultWriter } from "../worker/result-writer.ts";
import { serialWrites } from "../conductor/serial-writes.ts";
import { readTestLies } from "../worker/test-lies.ts";
import { withLinkedSignal } from "../linked-signal.ts";

export interface MeshInferenceOptions {
  dataDir: string;
  /** The joined network: results waiting to be written persist per network in the data dir. */
  network?: string;
  p2p: P2pNode;
  zomes: ZomeCaller;
  agentPubKey: Uint8Array;
  peers: () => PeerInfo[];
  inference: NodeInference;
  log: Logger;
  emit: (event: { type: string; [k: string]: unknown }) => void;
  env?: NodeJS.ProcessEnv;
  /** Large outputs to IPFS (artifacts/mesh-artifacts.ts); without it outputs stay inline. */
  storeOutput?: (o: { output: string; job: string; modelSha256: string }) => Promise<string | null>;
  /** Large job payloads (prompts) to IPFS; without it payloads stay inline. */
  payloads?: JobPayloadStore;
  /** This node's metrics (the worker counts the slots it serves). */
  metrics?: NodeMetrics;
  /** Open jobs stamped further ahead of this node's clock are not claimed (networks.json max_clock_skew_ms). */
  maxClockSkewMs?: number;
  /** Whether this node holds an active allocation of the peer for the model: its jobs go there first. */
  reserved?: (peer: PeerInfo, model: string) => boolean;
  /** Active allocations of this node by other peers: its worker holds job slots for them. */
  reservationsOfThisNode?: () => readonly ProviderReservation[];
}

/** An open-job notice is one small request; a peer that does not answer in this time finds the job on its next read. */
const ANNOUNCE_TIMEOUT_MS = 3000;
/** Open-job notices followed per sending member a minute (an honest requester posts far fewer jobs). */
const OPEN_JOB_NOTICES_PER_MINUTE = 120;

export class MeshInference {
  private readonly results: ResultWriter;
  private readonly worker: JobWorker;
  private readonly claimer: OpenJobClaimer;
  private readonly coordinator: MoeCoordinator;
  private readonly rating: PeerRating;
  private readonly running = new Set<AbortController>();
  private readonly noticesPerSender = new PerKeyRate();
  private readonly log: Logger;
  /** resource_mesh calls with this node's writes queued one at a time (shared with allocations). */
  readonly resourceMeshZomes: ZomeCaller;

  constructor(private readonly opts: MeshInferenceOptions) {
    const env = opts.env ?? process.env;
    const log = (this.log = opts.log.child({ seam: "jobs" }));
    const zomes = (this.resourceMeshZomes = serialWrites(opts.zomes));
    const testExperts = env.RIPPLE_TEST_EXPERTS === "1";
    this.rating = new PeerRating(PeerObservations.inDataDir(opts.dataDir, log), loadHardwareClasses().classes);
    this.results = new ResultWriter({
      zomes,
      log,
      pendingFile: join(opts.dataDir, `pending-results${opts.network ? `.${opts.network}` : ""}.json`),
      onWritten: (e) => opts.emit({ type: "job:result-written", ...e }),
      ...(opts.storeOutput ? { storeOutput: opts.storeOutput } : {}),
    });
    this.worker = new JobWorker({
      p2p: opts.p2p,
      engine: opts.inference.engine,
      hasModel: (name) => opts.inference.store.has(name),
      modelSha256: (name) => (opts.inference.store.has(name) ? opts.inference.store.get(name).sha256 : undefined),
      policy: () => opts.inference.computePolicy,
      isMeshMember: (agent) => opts.peers().some((p) => p.agent === agent),
      results: this.results,
      assignments: (assignment) => resourceMesh(zomes).getAssignmentWithJob(decodeHashFromBase64(assignment)),
      agentPubKey: opts.agentPubKey,
      testExperts,
      testLies: () => readTestLies(opts.dataDir, testExperts),
      capacity: () => opts.inference.engine.queueState().maxConcurrent,
      ...(opts.reservationsOfThisNode ? { reservations: opts.reservationsOfThisNode } : {}),
      log,
      emit: opts.emit,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    this.claimer = new OpenJobClaimer({
      zomes,
      self: encodeHashToBase64(opts.agentPubKey),
      policy: () => opts.inference.computePolicy,
      hasModel: (name) => opts.inference.store.has(name),
      isMeshMember: (agent) => opts.peers().some((p) => p.agent === agent),
      fallbackNeeded: () => onlineUnboundPeer(opts.peers(), boundAgentKeys(opts.p2p.boundPeers())) !== undefined,
      othersListed: () => opts.peers().some((p) => !p.self),
      testExperts,
      log,
      ...(opts.maxClockSkewMs !== undefined ? { maxClockSkewMs: opts.maxClockSkewMs } : {}),
    });
    this.coordinator = new MoeCoordinator({
      zomes,
      policy: opts.inference.inferencePolicy,
      // Where each peer connects from: placement caps the slots of one address (expert-placement.ts).
      peers: () => this.measuredPeers(opts.peers()),
      rating: this.rating,
      ...(opts.reserved ? { reserved: (peer: PeerInfo, m: { model: string }) => opts.reserved!(peer, m.model) } : {}),
      rescore: (task, answer, signal) => this.rescore(task, answer, signal),
      dispatch: this.dispatch,
      announceOpenJob: (job, peers) => this.announceOpenJob(job, peers),
      audit: new MoeAudit(opts.dataDir, opts.inference.inferencePolicy.audit, log),
      ...(opts.payloads ? { payloads: opts.payloads } : {}),
      log,
      env,
    });
  }

  async start(): Promise<void> {
    this.results.resume();
    await this.worker.start();
    // Only a bound peer that is a member of this mesh can wake the claimer (see open-job-protocol.ts).
    await this.opts.p2p.handleJson(openJobProtocol, async (raw, from) => this.openJobNotice(raw, from), { maxBytes: openJobProtocolMaxBytes });
    this.claimer.start();
  }

  private openJobNotice(raw: unknown, from: RequestSender): { ok: boolean } {
    const notice = openJobNoticeSchema.safeParse(raw);
    const agent = from.agentPubKey ? encodeHashToBase64(from.agentPubKey) : undefined;
    const peer = agent ? this.opts.peers().find((p) => p.agent === agent) : undefined;
    if (!notice.success || !peer) return { ok: false };
    // Each notice followed costs reads of the open jobs; a member sending made-up jobs is held to a rate.
    if (!this.noticesPerSender.take(peer.agent, OPEN_JOB_NOTICES_PER_MINUTE)) return { ok: false };
    const ok = this.claimer.wake(notice.data.job);
    if (ok) this.log.info({ job: notice.data.job, peer: peer.name }, "a peer announced an open job; reading the open jobs");
    return { ok };
  }

  /** Best effort, in the background: a peer that misses the notice finds the job on its next read. */
  private announceOpenJob(job: string, peers: PeerInfo[]): void {
    for (const peer of peers) {
      void this.opts.p2p.requestJson(peer.peerId, openJobProtocol, { job } satisfies OpenJobNotice, { maxBytes: openJobProtocolMaxBytes, timeoutMs: ANNOUNCE_TIMEOUT_MS }).catch((err) => this.log.debug({ job, peer: peer.name, err: (err as Error).message }, "could not tell a peer of an open job"));
    }
  }

  get activeJobs(): number {
    return this.worker.active;
  }

  /** Results this node produced that wait to be written (persisted in the data dir). */
  get pendingResultWrites(): number {
    return this.results.pending;
  }

  /** The peers with what this node makes of their claims: advertised vs bounded vs observed, shared peer ids and addresses. */
  withTrust(peers: PeerInfo[]): PeerInfo[] {
    const measured = this.measuredPeers(peers);
    return measured.map((p) => ({ ...p, trust: this.rating.describe(p, measured) }));
  }

  /** A remote answer's confidence as this node's own copy of the same model file gives it; undefined without one. */
  private async rescore(task: ExpertTask, answer: DoneAnswer, signal: AbortSignal): Promise<number | undefined> {
    const { store, engine } = this.opts.inference;
    const local = store.list().find((m) => m.sha256 === answer.model.sha256 && (task.modelSha256 === undefined || m.sha256 === task.modelSha256));
    if (!local || task.kind !== "model") return undefined;
    return engine.scoreAnswer(local.name, task.prompt, answer.output, { endedByLength: answer.finish_reason === "length", signal });
  }

  private measuredPeers(peers: PeerInfo[]): PeerInfo[] {
    return withRemoteIps(peers, (peerId) => this.opts.p2p.remoteHost(peerId));
  }

  moe(req: MoeRequest, ctl: { signal: AbortSignal; onEvent?: (e: MoeEvent) => void }): Promise<MoeResult> {
    return this.tracked(ctl.signal, (signal) => this.coordinator.moe(req, { ...ctl, signal }));
  }

  ask(req: AskRequest, ctl: { signal: AbortSignal; onToken?: (text: string) => void }): Promise<AskResult> {
    return this.tracked(ctl.signal, (signal) => this.coordinator.ask(req, { ...ctl, signal }));
  }

  /** Aborts this node's own requests, then waits briefly for result writes in flight. */
  async stop(): Promise<void> {
    for (const c of this.running) c.abort(new Error("the node is leaving the mesh"));
    await this.claimer.stop();
    await this.results.stop();
    this.rating.observations.flush();
  }

  private async tracked<T>(signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const own = new AbortController();
    this.running.add(own);
    try {
      return await withLinkedSignal([signal, own.signal], run);
    } finally {
      this.running.delete(own);
    }
  }

  /** A slot on this node runs in-process; on a peer, over the job protocol. */
  private readonly dispatch: Dispatch = async (peer, req, o) => {
    if (peer.self) {
      return this.worker.serve(req, this.opts.agentPubKey, { signal: o.signal, emit: async (p) => o.onProgress(p as JobProgress) });
    }
    const progress = new JobProgressCheck(peer.peerId);
    const answer = await this.opts.p2p.requestProgress(peer.peerId, jobProtocol, req, {
      maxBytes: jobProtocolMaxBytes,
      timeoutMs: o.timeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      signal: o.signal,
      onProgress: (raw) => {
        const p = progress.check(raw);
        if (p) o.onProgress(p);
      },
    });
    return jobAnswerSchema.parse(answer);
  };
}
