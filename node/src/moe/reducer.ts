// Merges the experts' answers to one prompt by weighted consensus (inference_policy.yaml `reducer`).
// Short answers vote on the key extractShortAnswer gives them; long answers vote for the answer most like
// the others. The result depends only on the set of answers, never on the order they arrived in: answers
// are sorted by slot first and every tie has a rule.
import { RippleError } from "../errors.ts";
import { extractShortAnswer, normaliseLongAnswer, normalisedSimilarity } from "./answer-text.ts";

/**
 * Long answers at least this similar to the winner agree with it. Measured with answer-text.ts's
 * similarity: rewrites of one Python function score 0.56–0.71, paraphrases of one review 0.39–0.59,
 * unrelated functions 0.15–0.36 (they share def/for/range/return), unrelated prose ≤ 0.25. 0.4 sits
 * above everything unrelated while keeping most paraphrases; it errs towards "disagreed", which lowers
 * the consensus score rather than overstating it.
 */
export const LONG_AGREEMENT_THRESHOLD = 0.4;

// Weights are sums of decimals (0.7 + 0.2 vs 0.9): equal within this counts as a tie, not float noise.
const EPSILON = 1e-9;

export type AnswerKind = "short" | "long";

export interface ReducerAnswer {
  slot: number;
  expert: string;
  weight: number;
  text: string;
}

export interface ReducerOptions {
  answerKind: AnswerKind;
  minAgreement: number;
  requireConsensus: boolean;
  conflictResolution: "highest_weight_wins";
}

export interface ReductionGroup {
  key: string;
  weight: number;
  slots: number[];
}

export interface Reduction {
  /** The chosen answer's original text, trimmed; "" when no answer was usable. */
  response: string;
  /** What was voted on: the short key, or the winner's normalised text for long answers. */
  key: string;
  /** Winning group's weight ÷ total weight, 0..1, 4 decimals. */
  consensusScore: number;
  consensusReached: boolean;
  /** Per input answer, in input order: is it in the winning group. */
  agreed: boolean[];
  /** Slot of the answer `response` comes from; -1 when no answer was usable. */
  winnerSlot: number;
  /** Winning group first, then the rest by weight; the group of unusable ("") answers last. */
  groups: ReductionGroup[];
}

/** reduce() was called with nothing to merge. */
export class NoAnswersError extends RippleError {
  constructor() {
    super(
      "the reducer got no answers to merge",
      "every expert slot failed, so there is nothing to vote on: " +
        "read the job's failed_slots, fix those experts or raise local_tier.timeout_ms",
    );
  }
}

/** The answers or options handed to reduce() break its contract. */
export class ReducerInputError extends RippleError {}

/** require_consensus is on and the best answer has less than min_agreement of the weight. */
export class NoConsensusError extends RippleError {
  constructor(
    readonly consensusScore: number,
    readonly minAgreement: number,
    readonly groups: ReductionGroup[],
  ) {
    super(
      `the experts did not agree: the best answer has ${consensusScore} of the weight, ` +
        `min_agreement is ${minAgreement}; groups: ${describeGroups(groups)}`,
      "ask more experts, lower reducer.min_agreement, or send requireConsensus: false " +
        "(reducer.require_consensus: false) to accept the best-weighted answer marked consensus_reached: false",
    );
  }
}

/** One answer with its place in the caller's array, so `agreed` can be returned in input order. */
interface Entry extends ReducerAnswer {
  index: number;
}

/** Merge the answers; throws NoConsensusError when consensus is required and not reached. */
export function reduce(answers: readonly ReducerAnswer[], opts: ReducerOptions): Reduction {
  checkOptions(opts);
  if (answers.length === 0) throw new NoAnswersError();
  const entries = sortedEntries(answers);
  const result = opts.answerKind === "short" ? reduceShort(entries) : reduceLong(entries);
  const total = sumWeights(entries);
  const share = result.winnerWeight / total;
  const reduction: Reduction = {
    response: result.response,
    key: result.key,
    consensusScore: round4(share),
    consensusReached: result.winnerWeight > 0 && share + EPSILON >= opts.minAgreement,
    agreed: inputOrder(entries, result.agreedSlots),
    winnerSlot: result.winnerSlot,
    groups: result.groups,
  };
  if (opts.requireConsensus && !reduction.consensusReached) {
    throw new NoConsensusError(reduction.consensusScore, opts.minAgreement, reduction.groups);
  }
  return reduction;
}

interface KindResult {
  response: string;
  key: string;
  winnerWeight: number;
  winnerSlot: number;
  agreedSlots: Set<number>;
  groups: ReductionGroup[];
}

// ---- short answers: group by key, heaviest group wins ----

interface KeyGroup {
  key: string;
  members: Entry[];
  weight: number;
}

function reduceShort(entries: Entry[]): KindResult {
  const groups = groupByKey(entries);
  const usable = groups.filter((g) => g.key !== "").sort(compareGroups);
  const empty = groups.filter((g) => g.key === "");
  const outGroups = [...usable, ...empty].map(toReductionGroup);
  const winner = usable[0];
  if (!winner) return { ...nothingUsable(), groups: outGroups };
  const best = heaviest(winner.members);
  return {
    response: best.text.trim(),
    key: winner.key,
    winnerWeight: winner.weight,
    winnerSlot: best.slot,
    agreedSlots: new Set(winner.members.map((m) => m.slot)),
    groups: outGroups,
  };
}

/** Entries arrive sorted by slot, so each group's members (and the float sum of its weights) are too. */
function groupByKey(entries: Entry[]): KeyGroup[] {
  const byKey = new Map<string, KeyGroup>();
  for (const e of entries) {
    const key = extractShortAnswer(e.text);
    const g = byKey.get(key) ?? { key, members: [], weight: 0 };
    g.members.push(e);
    g.weight += e.weight;
    byKey.set(key, g);
  }
  return [...byKey.values()];
}

/** Highest total weight; tie → highest_weight_wins (the group holding the heaviest single answer); tie → lowest slot. */
function compareGroups(a: KeyGroup, b: KeyGroup): number {
  return (
    compareDesc(a.weight, b.weight) ||
    compareDesc(heaviest(a.members).weight, heaviest(b.members).weight) ||
    a.members[0]!.slot - b.members[0]!.slot
  );
}

/** The heaviest member; the lowest slot among equals (members are sorted by slot). */
function heaviest(members: Entry[]): Entry {
  return members.reduce((best, m) => (m.weight > best.weight + EPSILON ? m : best));
}

function toReductionGroup(g: KeyGroup): ReductionGroup {
  return { key: g.key, weight: round4(g.weight), slots: g.members.map((m) => m.slot) };
}

// ---- long answers: the answer most like the others wins ----

function reduceLong(entries: Entry[]): KindResult {
  const texts = entries.map((e) => normaliseLongAnswer(e.text));
  const sim = similarityMatrix(texts);
  const support = entries.map((_, i) => weightedSupport(i, entries, sim));
  const candidates = entries.map((_, i) => i).filter((i) => texts[i] !== "");
  if (candidates.length === 0) {
    return { ...nothingUsable(), groups: longGroups(entries, texts, undefined, new Set()) };
  }
  const w = candidates.sort((i, j) => compareCandidates(i, j, entries, support))[0]!;
  const agreeing = entries.filter((_, i) => i === w || sim[w]![i]! >= LONG_AGREEMENT_THRESHOLD);
  const agreedSlots = new Set(agreeing.map((e) => e.slot));
  return {
    response: entries[w]!.text.trim(),
    key: texts[w]!,
    winnerWeight: sumWeights(agreeing),
    winnerSlot: entries[w]!.slot,
    agreedSlots,
    groups: longGroups(entries, texts, w, agreedSlots),
  };
}

function similarityMatrix(texts: string[]): number[][] {
  const m = texts.map(() => texts.map(() => 0));
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      m[i]![j] = m[j]![i] = normalisedSimilarity(texts[i]!, texts[j]!);
    }
  }
  return m;
}

/** Σ weight_j · sim(i, j) over the other answers. */
function weightedSupport(i: number, entries: Entry[], sim: number[][]): number {
  return entries.reduce((t, e, j) => (j === i ? t : t + e.weight * sim[i]![j]!), 0);
}

/** Most support; tie → heavier answer; tie → lower slot. */
function compareCandidates(i: number, j: number, entries: Entry[], support: number[]): number {
  return (
    compareDesc(support[i]!, support[j]!) ||
    compareDesc(entries[i]!.weight, entries[j]!.weight) ||
    entries[i]!.slot - entries[j]!.slot
  );
}

/** The winner's group, then each disagreeing answer alone (heaviest first), unusable answers under "". */
function longGroups(entries: Entry[], texts: string[], winner: number | undefined, agreed: Set<number>): ReductionGroup[] {
  const rows = entries.map((e, i) => ({ e, text: texts[i]! }));
  const others = rows.filter((r) => !agreed.has(r.e.slot) && r.text !== "");
  others.sort((a, b) => compareDesc(a.e.weight, b.e.weight) || a.e.slot - b.e.slot);
  const empty = rows.filter((r) => r.text === "").map((r) => r.e);
  const groups: ReductionGroup[] = [];
  if (winner !== undefined) groups.push(group(texts[winner]!, entries.filter((e) => agreed.has(e.slot))));
  for (const r of others) groups.push(group(r.text, [r.e]));
  if (empty.length > 0) groups.push(group("", empty));
  return groups;
}

function group(key: string, members: Entry[]): ReductionGroup {
  return { key, weight: round4(sumWeights(members)), slots: members.map((m) => m.slot) };
}

// ---- shared ----

function nothingUsable(): Omit<KindResult, "groups"> {
  return { response: "", key: "", winnerWeight: 0, winnerSlot: -1, agreedSlots: new Set() };
}

function checkOptions(opts: ReducerOptions): void {
  if (opts.answerKind !== "short" && opts.answerKind !== "long") {
    const fix = 'pass "short" or "long" (the task type\'s `answer` in inference_policy.yaml)';
    throw new ReducerInputError(`answerKind is ${JSON.stringify(opts.answerKind)}`, fix);
  }
  if (!(opts.minAgreement >= 0 && opts.minAgreement <= 1)) {
    throw new ReducerInputError(`minAgreement is ${opts.minAgreement}`, "pass reducer.min_agreement, a number from 0 to 1");
  }
  if (opts.conflictResolution !== "highest_weight_wins") {
    const what = `conflictResolution ${JSON.stringify(opts.conflictResolution)} is not supported`;
    throw new ReducerInputError(what, 'use "highest_weight_wins"');
  }
}

/** Sorted by slot; slots must be unique so that winnerSlot and the tie rules name one answer. */
function sortedEntries(answers: readonly ReducerAnswer[]): Entry[] {
  const entries = answers.map((a, index) => ({ ...checkAnswer(a), index }));
  entries.sort((a, b) => a.slot - b.slot);
  for (let i = 1; i < entries.length; i++) {
    const slot = entries[i]!.slot;
    if (slot === entries[i - 1]!.slot) {
      throw new ReducerInputError(`two answers have slot ${slot}`, "pass one answer per slot (the newest epoch's)");
    }
  }
  return entries;
}

function checkAnswer(a: ReducerAnswer): ReducerAnswer {
  const which = `answer in slot ${a.slot} (expert ${a.expert})`;
  if (!Number.isInteger(a.slot) || a.slot < 0) {
    throw new ReducerInputError(`${which} has a bad slot`, "slots are integers from 0");
  }
  if (!(Number.isFinite(a.weight) && a.weight > 0)) {
    throw new ReducerInputError(`${which} has weight ${a.weight}`, "give every expert a positive weight in inference_policy.yaml");
  }
  if (typeof a.text !== "string") {
    throw new ReducerInputError(`${which} has no text`, 'pass the generated text, "" if the expert produced nothing');
  }
  return a;
}

function inputOrder(entries: Entry[], agreedSlots: Set<number>): boolean[] {
  const agreed = new Array<boolean>(entries.length).fill(false);
  for (const e of entries) agreed[e.index] = agreedSlots.has(e.slot);
  return agreed;
}

function sumWeights(entries: ReducerAnswer[]): number {
  return entries.reduce((t, e) => t + e.weight, 0);
}

/** Descending order with float noise treated as equal. */
function compareDesc(a: number, b: number): number {
  return Math.abs(a - b) <= EPSILON ? 0 : b - a;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

function describeGroups(groups: ReductionGroup[]): string {
  return groups
    .map((g) => {
      const key = g.key.length > 40 ? `${g.key.slice(0, 40)}…` : g.key;
      return `${JSON.stringify(key)}=${g.weight} (slots ${g.slots.join(",")})`;
    })
    .join("; ");
}
