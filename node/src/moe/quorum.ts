// Early quorum: an MOE job may stop as soon as its outcome cannot change, instead of waiting for its
// slowest expert. "Outcome" is what the caller sees: the winning short answer and whether consensus
// was reached. Decided when, whatever the unanswered slots say:
// - the leading answer's weight, at its lowest, exceeds any rival's weight at its highest plus the
//   whole weight still pending (a pending answer could join any rival or start a new one); and
// - min_agreement is met even if every pending answer goes elsewhere, or cannot be met even if
//   every pending answer joins the leader.
// Weights are the counted ones (vote-voice.ts): an answered vote's counted weight can still fall
// when its machine's pending slots answer, so the leader is taken at that floor and rivals at
// their raw weight (the ceiling of any counted weight).
//
// Long answers (similarity ranking) cannot have their winner fixed early: a pending answer like all
// the others could always rank first. majorityAgreed() decides something weaker, said as such in the
// policy: a strict majority of the job's whole weight already agrees with one reply.
import { extractShortAnswer } from "./answer-text.ts";
import { reduce } from "./reducer.ts";

/** Equal within this counts as a tie, and a tie is never decided. */
const EPSILON = 1e-9;

export interface AnsweredVote {
  slot: number;
  weight: number;
  text: string;
  /** The answering machine (libp2p peer id); null for this node and the cloud tier. */
  remotePeer: string | null;
}

export interface PendingSlot {
  slot: number;
  weight: number;
}

export interface QuorumInput {
  answered: readonly AnsweredVote[];
  pending: readonly PendingSlot[];
  minAgreement: number;
}

/** Whether the winner and consensus_reached of the job are already fixed. */
export function outcomeDecided(input: QuorumInput): boolean {
  if (input.pending.length === 0) return true;
  if (input.answered.length === 0) return false;
  const pendingWeight = input.pending.reduce((t, p) => t + p.weight, 0);
  const floor = countedFloors(input.answered, pendingWeight);
  const groups = new Map<string, { floor: number; ceiling: number }>();
  for (const v of input.answered) {
    const key = extractShortAnswer(v.text);
    const g = groups.get(key) ?? { floor: 0, ceiling: 0 };
    g.floor += floor.get(v.slot)!;
    g.ceiling += v.weight;
    groups.set(key, g);
  }
  // Unusable (empty) answers never win; they only add to the total.
  const usable = [...groups.entries()].filter(([k]) => k !== "").map(([, g]) => g);
  if (usable.length === 0) return false;
  const leader = usable.reduce((a, b) => (b.floor > a.floor ? b : a));
  const bestRival = Math.max(0, ...usable.filter((g) => g !== leader).map((g) => g.ceiling));
  if (!(leader.floor > bestRival + pendingWeight + EPSILON)) return false;
  // The winner's share L ÷ (L + others) grows with L and shrinks with the others: bound it both ways.
  const othersFloor = [...floor.values()].reduce((t, w) => t + w, 0) - leader.floor;
  const othersCeiling = input.answered.reduce((t, v) => t + v.weight, 0) - leader.ceiling;
  const lowestShare = leader.floor / (leader.floor + othersCeiling + pendingWeight);
  const highestShare = (leader.ceiling + pendingWeight) / (leader.ceiling + pendingWeight + othersFloor);
  const metRegardless = lowestShare + EPSILON >= input.minAgreement;
  const unreachable = highestShare + EPSILON < input.minAgreement;
  return metRegardless || unreachable;
}

/**
 * Whether a long-answer job may stop: the answers that agree with the current winner (similarity at
 * least reducer.ts's LONG_AGREEMENT_THRESHOLD), each at its lowest counted weight, hold more than half
 * of the weight of every slot, answered or pending, and at least min_agreement of it. Then consensus
 * is reached whatever the pending slots would answer (no set of them, even with every disagreeing
 * answer, outweighs that majority), and the reply is one a majority of the job's weight agreed with;
 * what is not fixed is which reply of that majority: a pending answer might have been a more central one.
 */
export function majorityAgreed(input: QuorumInput): boolean {
  if (input.pending.length === 0) return true;
  if (input.answered.length === 0) return false;
  const pendingWeight = input.pending.reduce((t, p) => t + p.weight, 0);
  const floor = countedFloors(input.answered, pendingWeight);
  const reduction = reduce(
    input.answered.map((v) => ({ slot: v.slot, expert: String(v.slot), weight: v.weight, text: v.text })),
    { answerKind: "long", minAgreement: input.minAgreement, requireConsensus: false, conflictResolution: "highest_weight_wins" },
  );
  if (reduction.winnerSlot < 0) return false;
  const agreeing = input.answered.filter((_, i) => reduction.agreed[i]).reduce((t, v) => t + floor.get(v.slot)!, 0);
  const total = input.answered.reduce((t, v) => t + v.weight, 0) + pendingWeight;
  return agreeing > total / 2 + EPSILON && agreeing + EPSILON >= input.minAgreement * total;
}

/**
 * The lowest counted weight each answered vote can end with: a machine's answers are scaled by
 * (heaviest ÷ sum) of all its slots, lowest when every pending slot ends up on that machine (a slot
 * can be reassigned anywhere). This node's and the cloud's answers are never scaled.
 */
function countedFloors(answered: readonly AnsweredVote[], pendingWeight: number): Map<number, number> {
  const byPeer = new Map<string, { max: number; sum: number }>();
  for (const v of answered) {
    if (v.remotePeer === null) continue;
    const s = byPeer.get(v.remotePeer) ?? { max: 0, sum: 0 };
    s.max = Math.max(s.max, v.weight);
    s.sum += v.weight;
    byPeer.set(v.remotePeer, s);
  }
  const floors = new Map<number, number>();
  for (const v of answered) {
    const s = v.remotePeer === null ? undefined : byPeer.get(v.remotePeer)!;
    floors.set(v.slot, s ? (v.weight * s.max) / (s.sum + pendingWeight) : v.weight);
  }
  return floors;
}
