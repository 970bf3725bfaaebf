// Early quorum over recorded answer sets: for every order the answers could arrive in, stopping at
// the first moment outcomeDecided() says so gives the same answer and consensus flag as waiting for
// every slot (never earlier than that), and on sets where the leader is clear it does stop early.
import { describe, expect, it } from "vitest";
import { majorityAgreed, outcomeDecided, type AnsweredVote } from "../src/moe/quorum.ts";
import { QuorumWatch } from "../src/moe/quorum-watch.ts";
import { reduce } from "../src/moe/reducer.ts";
import { countedWeights } from "../src/moe/vote-voice.ts";

type Vote = AnsweredVote;

function* permutations<T>(xs: T[]): Generator<T[]> {
  if (xs.length <= 1) {
    yield xs;
    return;
  }
  for (let i = 0; i < xs.length; i++) {
    const rest = [...xs.slice(0, i), ...xs.slice(i + 1)];
    for (const p of permutations(rest)) yield [xs[i]!, ...p];
  }
}

/** The coordinator's vote: counted weights (one voice per remote machine), then the reducer. */
function outcome(votes: Vote[], minAgreement: number) {
  const counted = countedWeights(votes.map((v) => ({ slot: v.slot, weight: v.weight, remotePeer: v.remotePeer })));
  const r = reduce(
    votes.map((v) => ({ slot: v.slot, expert: `e${v.slot}`, weight: counted.get(v.slot)!, text: v.text })),
    { answerKind: "short", minAgreement, requireConsensus: false, conflictResolution: "highest_weight_wins" },
  );
  return { key: r.key, reached: r.consensusReached };
}

/**
 * Replays one arrival order; returns how many answers it waited for and the outcome then. `ceiling`:
 * what a pending slot could weigh (with confidence weighting, its expert's weight, not the scaled one).
 */
function replay(order: Vote[], minAgreement: number, ceiling: (v: Vote) => number = (v) => v.weight) {
  for (let n = 1; n <= order.length; n++) {
    const answered = order.slice(0, n);
    const pending = order.slice(n).map((v) => ({ slot: v.slot, weight: ceiling(v) }));
    if (outcomeDecided({ answered, pending, minAgreement })) return { waited: n, ...outcome(answered, minAgreement) };
  }
  throw new Error("never decided, not even with every answer");
}

const v = (slot: number, weight: number, text: string, remotePeer: string | null = null): Vote => ({ slot, weight, text, remotePeer });

// Answer sets recorded from the default policy's experts (weights 1.0, 0.9, 0.8, 0.7, 0.6), some
// with answers from remote machines (peer ids) and one machine holding two slots.
const recorded: Array<{ name: string; votes: Vote[]; stopsEarly: boolean }> = [
  { name: "all agree", votes: [v(0, 1, "Paris", "bob"), v(1, 0.9, "Paris"), v(2, 0.8, "Paris", "carol"), v(3, 0.7, "Paris."), v(4, 0.6, " Paris", "bob")], stopsEarly: true },
  { name: "Gemma disagrees", votes: [v(0, 1, "Ottawa"), v(1, 0.9, "Ottawa", "bob"), v(2, 0.8, "Ottawa", "carol"), v(3, 0.7, "Ottawa"), v(4, 0.6, "Toronto", "carol")], stopsEarly: true },
  { name: "split 3:2", votes: [v(0, 1, "Toronto"), v(1, 0.9, "Ottawa", "bob"), v(2, 0.8, "Ottawa", "carol"), v(3, 0.7, "Toronto", "bob"), v(4, 0.6, "Ottawa")], stopsEarly: false },
  { name: "everyone differs", votes: [v(0, 1, "1"), v(1, 0.9, "2", "bob"), v(2, 0.8, "3", "carol"), v(3, 0.7, "4"), v(4, 0.6, "5", "dave")], stopsEarly: false },
  { name: "a liar on one machine with two slots", votes: [v(0, 1, "Lyon", "mallory"), v(1, 0.9, "Lyon", "mallory"), v(2, 0.8, "Paris", "bob"), v(3, 0.7, "Paris"), v(4, 0.6, "Paris", "carol")], stopsEarly: false },
  { name: "an empty answer", votes: [v(0, 1, "42"), v(1, 0.9, "", "bob"), v(2, 0.8, "42", "carol"), v(3, 0.7, "42"), v(4, 0.6, "41", "bob")], stopsEarly: true },
  { name: "six slots, two machines", votes: [v(0, 1, "Tokyo", "bob"), v(1, 0.95, "Tokyo", "bob"), v(2, 0.9, "Tokyo", "carol"), v(3, 0.8, "Kyoto", "carol"), v(4, 0.7, "Tokyo"), v(5, 0.6, "Tokyo")], stopsEarly: true },
];

describe("early quorum", () => {
  for (const set of recorded) {
    for (const minAgreement of [0.5, 0.8]) {
      it(`${set.name} (min_agreement ${minAgreement}): every arrival order gives the all-slots answer`, () => {
        const all = outcome(set.votes, minAgreement);
        let earliest = Infinity;
        for (const order of permutations(set.votes)) {
          const early = replay(order, minAgreement);
          expect({ key: early.key, reached: early.reached }, `order ${order.map((x) => x.slot)} stopped after ${early.waited}`).toEqual(all);
          earliest = Math.min(earliest, early.waited);
        }
        if (set.stopsEarly && minAgreement === 0.5) expect(earliest).toBeLessThan(set.votes.length);
      });
    }
  }

  // reducer.confidence: each answered vote weighs weight × confidence; the slots still pending may
  // weigh up to their expert's full weight, so an early stop must still give the all-slots answer.
  const confidences = [0.93, 0.41, 0.77, 0.12, 0.58, 0.99];
  for (const set of recorded) {
    it(`${set.name}, votes × confidence: every arrival order gives the all-slots answer`, () => {
      const raw = new Map(set.votes.map((x) => [x.slot, x.weight]));
      const scaled = set.votes.map((x, i) => ({ ...x, weight: x.weight * confidences[i % confidences.length]! }));
      const all = outcome(scaled, 0.5);
      for (const order of permutations(scaled)) {
        const early = replay(order, 0.5, (x) => raw.get(x.slot)!);
        expect({ key: early.key, reached: early.reached }, `order ${order.map((x) => x.slot)} stopped after ${early.waited}`).toEqual(all);
      }
    });
  }

  it("is never decided on a tie or before the leader beats everything still pending", () => {
    expect(outcomeDecided({ answered: [v(0, 1, "a"), v(1, 1, "b")], pending: [], minAgreement: 0.5 })).toBe(true);
    expect(outcomeDecided({ answered: [v(0, 1, "a")], pending: [{ slot: 1, weight: 1 }], minAgreement: 0 })).toBe(false);
    expect(outcomeDecided({ answered: [v(0, 1, "a"), v(1, 0.5, "a")], pending: [{ slot: 2, weight: 1.5 }], minAgreement: 0 })).toBe(false);
    expect(outcomeDecided({ answered: [v(0, 1, "a"), v(1, 0.51, "a")], pending: [{ slot: 2, weight: 1.5 }], minAgreement: 0 })).toBe(true);
    // A remote machine's answers can lose weight when its other slots answer: taken at that floor.
    // Unscaled 1.9 beats 0.8, but if slot 2 lands on m too, m's two answers count 1.9 × 1 ÷ 2.7 = 0.70.
    expect(outcomeDecided({ answered: [v(0, 1, "a", "m"), v(1, 0.9, "a", "m")], pending: [{ slot: 2, weight: 0.8 }], minAgreement: 0 })).toBe(false);
    expect(outcomeDecided({ answered: [v(0, 1, "a"), v(1, 0.9, "a")], pending: [{ slot: 2, weight: 0.8 }], minAgreement: 0 })).toBe(true);
  });

  it("waits while min_agreement could still go either way", () => {
    // Leader decided (2 vs at most 0.8), but 2 ÷ 2.8 = 0.71 < 0.8 ≤ 2.8 ÷ 2.8: reached depends on slot 2.
    expect(outcomeDecided({ answered: [v(0, 1, "a"), v(1, 1, "a")], pending: [{ slot: 2, weight: 0.8 }], minAgreement: 0.8 })).toBe(false);
    expect(outcomeDecided({ answered: [v(0, 1, "a"), v(1, 1, "a")], pending: [{ slot: 2, weight: 0.8 }], minAgreement: 0.7 })).toBe(true);
  });
});

describe("early quorum on long answers: a majority of the job's weight agrees", () => {
  // Three versions of one function (similarity 0.42–0.77 to each other), prose and another program (≤ 0.05).
  const add1 = "def add(a, b):\n    return a + b";
  const add2 = "def add(x, y):\n    return x + y";
  const add3 = "def add(a, b):\n    result = a + b\n    return result";
  const prose = "The capital of France is Paris, a city on the Seine.";
  const other = "import os\nprint(os.listdir('.'))";
  const pending = (...weights: number[]) => weights.map((weight, i) => ({ slot: 10 + i, weight }));
  const long = (answered: AnsweredVote[], pend: Array<{ slot: number; weight: number }>, minAgreement = 0.5) => majorityAgreed({ answered, pending: pend, minAgreement });

  it("stops once the agreeing answers hold more than half of every slot's weight, and not before", () => {
    // 5 slots of weight 1: two alike are 2 of 5; three alike are 3 of 5.
    expect(long([v(0, 1, add1), v(1, 1, add2)], pending(1, 1, 1))).toBe(false);
    expect(long([v(0, 1, add1), v(1, 1, add2), v(2, 1, add3)], pending(1, 1))).toBe(true);
    // Disagreeing answers never make a majority, however many arrive.
    expect(long([v(0, 1, add1), v(1, 1, prose), v(2, 1, other)], pending(1, 1))).toBe(false);
    // Exactly half is no majority.
    expect(long([v(0, 1, add1), v(1, 1, add3)], pending(1, 1))).toBe(false);
    // Heavier pending slots keep it open.
    expect(long([v(0, 1, add1), v(1, 1, add2), v(2, 1, add3)], pending(2, 1.5))).toBe(false);
    // Nothing pending: nothing to wait for.
    expect(long([v(0, 1, prose)], [])).toBe(true);
  });

  it("counts remote answers at their floor, and honours a min_agreement above one half", () => {
    // m's three answers count at most 3 × 1 ÷ (3 + 2) = 0.6 if both pending slots land on m too.
    expect(long([v(0, 1, add1, "m"), v(1, 1, add2, "m"), v(2, 1, add3, "m")], pending(1, 1))).toBe(false);
    // Each remote machine's answer at its floor: m's and n's count 1 ÷ 3 each (both pending slots could land there).
    expect(long([v(0, 1, add1, "m"), v(1, 1, add2, "n"), v(2, 1, add3)], pending(1, 1))).toBe(false);
    expect(long([v(0, 1, add1, "m"), v(1, 1, add2), v(2, 1, add3), v(3, 1, add1)], pending(1))).toBe(true);
    expect(long([v(0, 1, add1), v(1, 1, add2), v(2, 1, add3)], pending(1, 1), 0.7)).toBe(false);
    expect(long([v(0, 1, add1), v(1, 1, add2), v(2, 1, add3), v(3, 1, add1)], pending(1), 0.7)).toBe(true);
  });

  it("the reply it stops with is one the majority agreed with, and the consensus holds for the whole job", () => {
    const answered = [v(0, 1, prose), v(1, 1, add1), v(2, 1, add3), v(3, 1, add2)];
    expect(long(answered.slice(0, 3), pending(1, 1))).toBe(false);
    expect(long(answered, pending(1))).toBe(true);
    const r = reduce(answered.map((a) => ({ slot: a.slot, expert: `e${a.slot}`, weight: a.weight, text: a.text })), { answerKind: "long", minAgreement: 0.5, requireConsensus: false, conflictResolution: "highest_weight_wins" });
    expect([add1, add2, add3]).toContain(r.response);
    // Whatever the pending slot would have said (alike or not), consensus is reached over all five.
    for (const last of [prose, other, add2]) {
      const all = reduce([...answered, v(4, 1, last)].map((a) => ({ slot: a.slot, expert: `e${a.slot}`, weight: a.weight, text: a.text })), { answerKind: "long", minAgreement: 0.5, requireConsensus: false, conflictResolution: "highest_weight_wins" });
      expect(all.consensusReached).toBe(true);
      expect([add1, add2, add3]).toContain(all.response);
    }
  });

  it("QuorumWatch cancels the slots still running once a long-answer majority agrees; not with quorum: all", () => {
    const cancelled: number[][] = [];
    const watch = new QuorumWatch({ early: true, answerKind: "long", minAgreement: 0.5, onDecided: (c) => cancelled.push(c) });
    const signals = [0, 1, 2, 3, 4].map((slot) => watch.expect(slot, 1, true)!);
    watch.answer(v(0, 1, add1));
    watch.answer(v(1, 1, add2));
    expect(cancelled).toEqual([]);
    watch.answer(v(2, 1, add3));
    expect(cancelled).toEqual([[3, 4]]);
    expect(signals.map((s) => s.aborted)).toEqual([false, false, false, true, true]);
    expect(watch.decidedAfter).toBe(3);
    const all = new QuorumWatch({ early: false, answerKind: "long", minAgreement: 0.5, onDecided: () => cancelled.push([-1]) });
    for (const slot of [0, 1, 2, 3, 4]) all.expect(slot, 1, true);
    for (const [slot, text] of [[0, add1], [1, add2], [2, add3]] as const) all.answer(v(slot, 1, text));
    expect(cancelled).toEqual([[3, 4]]);
  });
});
