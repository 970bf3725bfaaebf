// Per-requester limits on a worker (compute policy `worker.per_requester`): one member of the mesh
// may not fill this node's queue or keep it busy alone. Counts jobs running now and jobs started in
// the last minute per requester agent; this node's own requests are not limited here (the engine's
// queue bounds them).
import { InferenceError } from "../inference/inference-errors.ts";
import { RunningJobs } from "./running-jobs.ts";
import { PerKeyRate } from "../per-key-rate.ts";

/** Requesters whose starts are remembered at most (the ones idle longest are forgotten first). */
const MAX_REQUESTERS = 10_000;

export interface RequesterLimits {
  max_concurrent: number;
  max_per_minute: number;
}

export class RequesterQuota {
  private readonly running = new RunningJobs();
  private readonly started: PerKeyRate;

  constructor(now: () => number = Date.now) {
    this.started = new PerKeyRate(MAX_REQUESTERS, now);
  }

  /**
   * Takes one job for `requester` or throws InferenceError "busy" naming the limit; the returned
   * function gives the running slot back (call it once, when the job ends).
   */
  admit(requester: string, limits: RequesterLimits): () => void {
    const startedLastMinute = this.started.count(requester);
    const running = this.running.of(requester);
    if (running >= limits.max_concurrent) {
      throw new InferenceError(
        "busy",
        `requester ${requester} already has ${running} job(s) running on this node (quota: ${limits.max_concurrent} at once per requester)`,
        "send the slot to another peer, or raise worker.per_requester.max_concurrent in this worker's compute policy",
      );
    }
    if (!this.started.take(requester, limits.max_per_minute)) {
      throw new InferenceError(
        "busy",
        `requester ${requester} started ${startedLastMinute} job(s) on this node in the last minute (quota: ${limits.max_per_minute} per minute per requester)`,
        "send the slot to another peer, wait a minute, or raise worker.per_requester.max_per_minute in this worker's compute policy",
      );
    }
    return this.running.take(requester);
  }
}
