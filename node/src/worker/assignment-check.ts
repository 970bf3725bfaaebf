// A job request is a peer's claim: "I assigned you slot S of my job J (assignment A)". The worker
// reads A and J from resource_mesh and checks the claim: A was written by the requester (who wrote
// J: get_assignment_with_job re-checks that), names this node, and says J, S and the epoch the
// request says; J lists the slot with the task's model, kind and at least its max_tokens; and J's
// deadline has not passed. An answer whose assignment was read and does not back it is not written
// to resource_mesh (the DNA refuses a result from anyone but the assignee anyway).
//
// Gossip takes 1–7 s to bring an assignment to the worker on a local mesh (measured), so an honest
// slot does not wait for the check: it runs beside it. A requester cannot use that to have made-up
// jobs run for long: one with MAX_UNVERIFIED_PER_REQUESTER checks open has its next job checked
// first, and one caught with an unbacked request has all its jobs checked first for CHECK_FIRST_MS.
// Each assignment is served at most twice (the requester sends it once more after a broken stream).
import { encodeHashToBase64 } from "@holochain/client";
import type { AssignmentWithJob } from "@ripple-mesh/zome-bindings";
import type { JobRequest } from "../protocol/job-protocol.ts";
import { within } from "../waits.ts";

/** Reads an assignment (base64 action hash) and its job; null until both have reached this node. */
export type AssignmentReader = (assignment: string) => Promise<AssignmentWithJob | null>;

/** How long the worker waits for the assignment to reach its conductor (gossip) before it refuses. */
export const ASSIGNMENT_WAIT_MS = 30_000;
/** A deadline is the requester's clock: this much skew between two machines is not a lie. */
const DEADLINE_SKEW_MS = 60_000;
/** The first wait between two reads; it doubles up to MAX_READ_GAP_MS. */
const FIRST_READ_GAP_MS = 100;
const MAX_READ_GAP_MS = 2_000;
/** A read started at the end of the wait still gets this long (the wait may run over by as much). */
const LAST_READ_MS = 500;

export interface AssignmentCheckContext {
  /** The requester's agent key (base64), from its verified libp2p binding. */
  requester: string;
  /** This node's agent key (base64). */
  self: string;
  /** This node's clock (ms). */
  now: number;
}

/** Why `found` does not back `req`, or null when it does. */
export function assignmentProblem(found: AssignmentWithJob, req: JobRequest, ctx: AssignmentCheckContext): string | null {
  const { assignment, job } = found;
  const author = encodeHashToBase64(assignment.author);
  if (author !== ctx.requester) return `assignment ${req.assignment} was written by ${author}, not by the requester`;
  const assignee = encodeHashToBase64(assignment.entry.assignee);
  if (assignee !== ctx.self) return `assignment ${req.assignment} names another worker (${assignee})`;
  if (encodeHashToBase64(assignment.entry.job) !== req.job) return `assignment ${req.assignment} is for job ${encodeHashToBase64(assignment.entry.job)}, not ${req.job}`;
  if (assignment.entry.slot !== req.slot || assignment.entry.epoch !== req.epoch) {
    return `assignment ${req.assignment} is slot ${assignment.entry.slot} epoch ${assignment.entry.epoch}, the request says slot ${req.slot} epoch ${req.epoch}`;
  }
  if (job.entry.deadline_ms + DEADLINE_SKEW_MS < ctx.now) return `job ${req.job} passed its deadline at ${new Date(job.entry.deadline_ms).toISOString()}`;
  return slotProblem(job.entry.requirements, req);
}

/**
 * Whether the job's requirements (job-poster.ts: `{task_type, slots: [{slot, model, kind,
 * max_tokens}], fallback_slots?: [...]}`, the slots a timed-out cloud expert may hand to a local one)
 * list the task.
 */
function slotProblem(requirements: string, req: JobRequest): string | null {
  let listing: { slots?: unknown; fallback_slots?: unknown };
  try {
    listing = (JSON.parse(requirements) ?? {}) as typeof listing;
  } catch {
    return `job ${req.job}'s requirements are not JSON`;
  }
  const { slots } = listing;
  // A job with too many slots to list them in 4 KiB says only how many it has.
  if (typeof slots === "number") return req.slot < slots ? null : `job ${req.job} has ${slots} slot(s), not a slot ${req.slot}`;
  if (!Array.isArray(slots)) return `job ${req.job}'s requirements do not list its slots`;
  const all = [...slots, ...(Array.isArray(listing.fallback_slots) ? listing.fallback_slots : [])];
  const listed = all.find((s): s is Record<string, unknown> => typeof s === "object" && s !== null && (s as { slot?: unknown }).slot === req.slot);
  if (!listed) return `job ${req.job} lists no slot ${req.slot}`;
  const { task } = req;
  if (listed.kind !== task.kind || (task.kind === "model" && listed.model !== task.model)) {
    return `job ${req.job} lists slot ${req.slot} as ${String(listed.kind)} ${String(listed.model)}, the request asks for ${task.kind} ${task.model}`;
  }
  if (typeof listed.max_tokens !== "number" || task.maxTokens > listed.max_tokens) return `the request asks for ${task.maxTokens} tokens, job ${req.job} lists at most ${String(listed.max_tokens)} for slot ${req.slot}`;
  return null;
}

/**
 * What a check found: the assignment backs the request; or why not (`read`: the assignment was
 * read and does not back it, as opposed to not read within the wait); or nothing (stopped first).
 */
export type AssignmentVerdict = { backed: true } | { backed: false; problem: string; read: boolean } | { backed: "stopped" };

/**
 * Reads the assignment until it has reached this node and checks it. The wait ends after `waitMs`
 * (at most LAST_READ_MS later) even while a read hangs (a network get can wait out a dead peer),
 * and at once when `signal` (if any) aborts.
 */
export async function checkAssignment(
  read: AssignmentReader,
  req: JobRequest,
  ctx: Omit<AssignmentCheckContext, "now">,
  opts: { signal?: AbortSignal; waitMs?: number; now?: () => number } = {},
): Promise<AssignmentVerdict> {
  const now = opts.now ?? Date.now;
  const waitMs = opts.waitMs ?? ASSIGNMENT_WAIT_MS;
  const until = now() + waitMs;
  let gap = FIRST_READ_GAP_MS;
  let lastError: string | undefined;
  while (!opts.signal?.aborted) {
    const outcome = await within(read(req.assignment), Math.max(until - now(), LAST_READ_MS), opts.signal);
    if (outcome.kind === "value" && outcome.value) {
      const problem = assignmentProblem(outcome.value, req, { ...ctx, now: now() });
      return problem === null ? { backed: true } : { backed: false, problem, read: true };
    }
    if (outcome.kind === "error") lastError = outcome.message;
    if (outcome.kind === "value") lastError = undefined;
    if (outcome.kind === "late") lastError = "the read did not answer in time";
    const left = until - now();
    if (opts.signal?.aborted || left <= 0) break;
    // The last wait is cut to the deadline, so that the last read is at the end of the wait.
    await within(new Promise((r) => setTimeout(r, Math.min(gap, left)).unref()), Math.min(gap, left), opts.signal);
    gap = Math.min(gap * 2, MAX_READ_GAP_MS);
  }
  if (opts.signal?.aborted) return { backed: "stopped" };
  const waited = `${(waitMs / 1000).toFixed(waitMs < 10_000 ? 1 : 0)} s`;
  return {
    backed: false,
    read: false,
    problem: lastError ? `could not read assignment ${req.assignment} within ${waited}: ${lastError}` : `assignment ${req.assignment} (with its job) did not reach this node within ${waited}`,
  };
}

/** How many times one assignment is served: the first request, and the requester's one retry after a broken stream. */
export const SERVES_PER_ASSIGNMENT = 2;
/** Assignments remembered; the oldest is forgotten first (a replay that old has passed its job's deadline). */
const ASSIGNMENTS_REMEMBERED = 10_000;

/**
 * Checks one requester may have open before its next job waits for its check. A check takes the
 * seconds gossip needs (1–7 s measured here), so a busy honest requester has several open: two
 * MOE jobs in a row leave four on one worker.
 */
export const MAX_UNVERIFIED_PER_REQUESTER = 16;
/** How long a requester whose assignment did not back its request has its jobs checked before they run. */
export const CHECK_FIRST_MS = 10 * 60_000;
/** Requesters remembered so; the oldest is forgotten first. */
const UNBACKED_REMEMBERED = 10_000;

/** The requesters whose assignments recently did not back their requests (a made-up job, or a very slow DHT). */
export class UnbackedRequesters {
  private readonly lastAt = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  mark(requester: string): void {
    this.lastAt.delete(requester);
    this.lastAt.set(requester, this.now());
    if (this.lastAt.size > UNBACKED_REMEMBERED) this.lastAt.delete(this.lastAt.keys().next().value!);
  }

  /** Whether `requester`'s jobs wait for their check before they generate. */
  checkFirst(requester: string): boolean {
    const at = this.lastAt.get(requester);
    if (at === undefined) return false;
    if (this.now() - at < CHECK_FIRST_MS) return true;
    this.lastAt.delete(requester);
    return false;
  }
}

/** Counts the requests for each assignment, so that one assignment cannot be replayed without end. */
export class AssignmentServes {
  private readonly served = new Map<string, number>();

  /** Counts one request for `assignment`; false (not counted) when it was served SERVES_PER_ASSIGNMENT times. */
  take(assignment: string): boolean {
    const count = this.served.get(assignment) ?? 0;
    if (count >= SERVES_PER_ASSIGNMENT) return false;
    this.served.delete(assignment);
    this.served.set(assignment, count + 1);
    if (this.served.size > ASSIGNMENTS_REMEMBERED) this.served.delete(this.served.keys().next().value!);
    return true;
  }
}
