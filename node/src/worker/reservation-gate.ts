// The provider's side of allocations (resources.allocate): a peer that allocated this node gets a
// job slot held for it. While a holder runs nothing here, its slot stays free, and jobs from other
// requesters are refused as busy once they would take it; a holder's own jobs always pass this gate
// (the per-requester quota still applies). What an allocation claims is bounded by this node's
// compute policy (`worker.allocations`): at most `reserve_slots` slots are held, one per requester,
// the allocation this node saw first first; one counts for at most `max_minutes` from when this
// node first read it (the entry's own timestamp is the requester's claim); only requesters the
// policy names are honoured (`honour`: its allow list by default, since a hold shuts others out).
// This node's own jobs are never refused here (they still take a slot).
import { InferenceError } from "../inference/inference-errors.ts";
import { RunningJobs } from "./running-jobs.ts";

/** An active allocation of this node, as its provider reads it (mesh/allocations.ts). */
export interface ProviderReservation {
  allocation: string;
  requester: string;
  /** The model it was made for; null: any. */
  model: string | null;
  /** When this node first read it (its own clock: the entry's timestamp is the requester's claim). */
  seenAtMs: number;
  expiresAtMs: number;
}

export interface ReservationLimits {
  reserve_slots: number;
  max_minutes: number;
}

export interface ReservationContext {
  /** Jobs this node runs at once (the engine's limit). */
  capacity: number;
  reservations: readonly ProviderReservation[];
  limits: ReservationLimits;
  /** Whether the compute policy holds slots for this requester (worker-policy.ts allocationHonoured). */
  honoured: (requester: string) => boolean;
  self: string;
}

/** When a reservation stops holding a slot: its expiry, or max_minutes after this node first read it. */
function holdEndsAt(r: ProviderReservation, limits: ReservationLimits): number {
  return Math.min(r.expiresAtMs, r.seenAtMs + limits.max_minutes * 60_000);
}

/** A job refused because the slots left are held for allocations of this node (counted as "reserved"). */
export class ReservedNodeError extends InferenceError {}

export class ReservationGate {
  /** Jobs running through this gate now, by requester. */
  private readonly running = new RunningJobs();

  constructor(private readonly now: () => number = Date.now) {}

  /** The reservations that hold a slot now, by requester (policy-bounded, oldest first). */
  holders(ctx: ReservationContext): Map<string, ProviderReservation> {
    const now = this.now();
    const counted = ctx.reservations
      .filter((r) => r.requester !== ctx.self && now < holdEndsAt(r, ctx.limits) && ctx.honoured(r.requester))
      .sort((a, b) => a.seenAtMs - b.seenAtMs || (a.allocation < b.allocation ? -1 : 1));
    const holders = new Map<string, ProviderReservation>();
    for (const r of counted) {
      if (holders.size >= Math.min(ctx.limits.reserve_slots, ctx.capacity)) break;
      if (!holders.has(r.requester)) holders.set(r.requester, r);
    }
    return holders;
  }

  /**
   * Takes a slot for `requester`'s job on `model`, or throws InferenceError "busy" naming the
   * allocations that hold the rest; the returned function gives it back (once, when the job ends).
   */
  admit(requester: string, model: string, ctx: ReservationContext): () => void {
    const holders = this.holders(ctx);
    const own = holders.get(requester);
    const holds = requester === ctx.self || (own !== undefined && (own.model === null || own.model === model));
    const others = [...holders.values()].filter((r) => r.requester !== requester);
    if (!holds && others.length > 0) {
      const total = this.running.total;
      const idleHeld = others.filter((r) => !this.running.has(r.requester));
      // Past the capacity a job would queue in the engine ahead of the holders' next ones.
      if (total + idleHeld.length >= ctx.capacity) {
        const until = new Date(Math.min(...others.map((r) => holdEndsAt(r, ctx.limits)))).toISOString();
        throw new ReservedNodeError(
          "busy",
          `this node is reserved: ${idleHeld.length} of its ${ctx.capacity} job slot(s) held for allocation(s) ${others.map((r) => `${r.allocation.slice(0, 12)}… by ${r.requester.slice(0, 12)}…`).join(", ")}, ${total} job(s) running; the first hold ends ${until}`,
          "send the slot to another peer; the hold ends when the allocation expires or is released (or lower worker.allocations.reserve_slots in this worker's compute policy)",
        );
      }
    }
    return this.running.take(requester);
  }
}
