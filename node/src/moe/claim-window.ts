// Which claims of an open job count, judged by the requester's own clock when it assigns: a claim
// counts only when it is stamped inside the window the requester opened (from just before it wrote
// the job to the window's end, both read on the requester's clock) and it was there when the
// requester read the claims at assignment time (claims arriving later are never looked at). A claim
// stamped ahead of the window's end (a claimant's clock running fast, or a lie) does not count; the
// winner is the best-ranked claimant (resource_mesh's deterministic tie-break) with a counted claim.
import { encodeHashToBase64 } from "@holochain/client";

export interface RequesterWindow {
  /** Requester's clock (Unix ms) just before it wrote the job. */
  openedAtMs: number;
  /** Requester's clock (Unix ms) at which the window closed: opened + claim_window_ms. */
  closesAtMs: number;
}

export interface StampedClaim {
  author: Uint8Array;
  /** Holochain timestamp: Unix microseconds, the claimant's clock. */
  timestamp: number;
  entry: { slot: number };
}

export interface SlotClaimVerdict {
  /** The winner's agent key (base64), or undefined when no claim counts. */
  winner: string | undefined;
  /** Claimants (base64) whose claims for the slot are all stamped outside the window. */
  outside: string[];
}

/** Whether a claim's own stamp (the claimant's clock, Unix µs) falls inside the requester's window. */
function stampedInside(c: StampedClaim, window: RequesterWindow): boolean {
  const stampedMs = c.timestamp / 1000;
  return stampedMs >= window.openedAtMs && stampedMs <= window.closesAtMs;
}

/**
 * The slot's winner among `ranked` (every claimant, best first, as get_claim_winner ranks them)
 * whose claim for the slot is stamped inside the requester's window.
 */
export function judgeSlotClaims(slot: number, claims: StampedClaim[], ranked: Uint8Array[], window: RequesterWindow): SlotClaimVerdict {
  const inside = new Set<string>();
  const claimants = new Set<string>();
  for (const c of claims) {
    if (c.entry.slot !== slot) continue;
    const agent = encodeHashToBase64(c.author);
    claimants.add(agent);
    if (stampedInside(c, window)) inside.add(agent);
  }
  const winner = ranked.map((a) => encodeHashToBase64(a)).find((a) => inside.has(a));
  return { winner, outside: [...claimants].filter((a) => !inside.has(a)) };
}

/** A slot of an open job and the peers (agent keys, base64) this node knows could claim it. */
export interface ClaimableSlot {
  slot: number;
  eligible: readonly string[];
}

/**
 * Whether every known claimant is in: each slot has a claim stamped inside the window from every
 * peer that could claim it (online, serving the slot's model, not this node). Waiting out the rest
 * of the window can then change nothing among the peers this node knows, so the requester assigns
 * at once. One silent eligible peer (busy, or its policy refuses) keeps the window open to its end;
 * a fast claimant cannot shorten it for the others; nor does a slot no known peer could claim.
 */
export function everyKnownClaimIn(slots: readonly ClaimableSlot[], claims: readonly StampedClaim[], window: RequesterWindow): boolean {
  const inside = new Set<string>();
  for (const c of claims) if (stampedInside(c, window)) inside.add(`${c.entry.slot}:${encodeHashToBase64(c.author)}`);
  // A slot no known peer could claim gives nothing to wait for, but nothing to go on either: this
  // node's view may be missing a peer for a moment (a late heartbeat), so the window runs out.
  return slots.every((s) => s.eligible.length > 0 && s.eligible.every((agent) => inside.has(`${s.slot}:${agent}`)));
}
