// What the chaos run expects resource_mesh to pay, worked out from the nodes' own logs (every run of
// every node, across restarts), independently of the DNA's counting that it is then compared with.
//
// resource_mesh pays a worker for an assignment only when that assignment is its slot's current one
// (the newest epoch the requester wrote) on a job someone else authored. A worker killed right
// after answering may have its answer lost in flight; the requester then gives the slot a newer
// epoch (another peer, or itself), and the killed worker's resumed write records the older epoch:
// written, with accounting, and correctly not paid. Which epoch is current is read from the
// requesters' "slot assigned" lines; a job whose requester's lines are missing (its log was cut by a
// kill) falls back to "paid once per job unless its requester served it itself".
import type { LogLine } from "./ripple-process.ts";

export interface ChaosLedger {
  /** Per agent: the distinct assignments its worker wrote a result and accounting for. */
  ranBy: Map<string, Set<string>>;
  /** Written with accounting against its slot's current assignment: what the DNA pays. */
  paid: number;
  /** Written with accounting against a slot its requester later gave a newer epoch: not paid. */
  superseded: number;
  /** Jobs a node wrote a result for without accounting (it served its own job). */
  ownJobs: number;
}

export interface LedgerNode {
  agent: string;
  /** Log lines of every run of the node. */
  logs: LogLine[][];
}

export function chaosLedger(nodes: LedgerNode[]): ChaosLedger {
  const current = currentAssignments(nodes);
  const ranBy = new Map<string, Set<string>>();
  const ownJobs = new Set<string>();
  const writes: Array<{ job: string; assignment: string }> = [];
  for (const n of nodes) {
    const set = new Set<string>();
    for (const l of n.logs.flat()) {
      if (l.msg !== "result and accounting written") continue;
      if (!l.accounting) {
        ownJobs.add(String(l.job));
        continue;
      }
      set.add(String(l.assignment));
      writes.push({ job: String(l.job), assignment: String(l.assignment) });
    }
    ranBy.set(n.agent, set);
  }
  const paid = new Set<string>();
  const superseded = new Set<string>();
  for (const w of writes) {
    const slots = current.get(w.job);
    if (!slots) {
      // The requester's lines are lost: one payment per job, none where it served the slot itself.
      if (!ownJobs.has(w.job)) paid.add(`job ${w.job}`);
    } else if ([...slots.values()].some((c) => c.assignment === w.assignment)) {
      paid.add(w.assignment);
    } else {
      superseded.add(w.assignment);
    }
  }
  return { ranBy, paid: paid.size, superseded: superseded.size, ownJobs: ownJobs.size };
}

/**
 * Per job, per slot: the assignment of the newest epoch its requester logged. A requester writes each
 * epoch of a slot once, so epochs do not tie (resource_mesh would break a tie by the lowest hash).
 */
function currentAssignments(nodes: LedgerNode[]): Map<string, Map<number, { epoch: number; assignment: string }>> {
  const byJob = new Map<string, Map<number, { epoch: number; assignment: string }>>();
  for (const l of nodes.flatMap((n) => n.logs.flat())) {
    if (l.msg !== "slot assigned" || typeof l.job !== "string" || typeof l.assignment !== "string") continue;
    const slot = Number(l.slot);
    const epoch = Number(l.epoch);
    const slots = byJob.get(l.job) ?? new Map<number, { epoch: number; assignment: string }>();
    byJob.set(l.job, slots);
    if ((slots.get(slot)?.epoch ?? 0) < epoch) slots.set(slot, { epoch, assignment: l.assignment });
  }
  return byJob;
}
