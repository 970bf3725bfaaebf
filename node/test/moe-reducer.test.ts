// The MOE reducer over answer sets written the way Qwen2.5-Coder-0.5B and Gemma 3 270M answer: markdown,
// explanations after the answer, number words, garbage. Weights are the policy's experts' weights.
import { describe, expect, it } from "vitest";
import { RippleError } from "../src/errors.ts";
import { extractShortAnswer, normaliseLongAnswer, similarity } from "../src/moe/answer-text.ts";
import {
  LONG_AGREEMENT_THRESHOLD,
  NoAnswersError,
  NoConsensusError,
  ReducerInputError,
  reduce,
  type ReducerAnswer,
  type ReducerOptions,
  type Reduction,
} from "../src/moe/reducer.ts";

const EXPERTS = [
  ["qwen-chat-greedy", 1.0],
  ["qwen-few-shot-greedy", 0.9],
  ["qwen-chat-warm", 0.7],
  ["qwen-completion-few-shot", 0.8],
  ["gemma-completion-few-shot", 0.6],
] as const;

/** Answers in slot order from the policy's first experts, one per text (or given weights). */
function answers(texts: string[], weights?: number[]): ReducerAnswer[] {
  return texts.map((text, slot) => ({
    slot,
    expert: EXPERTS[slot % EXPERTS.length]![0],
    weight: weights?.[slot] ?? EXPERTS[slot % EXPERTS.length]![1],
    text,
  }));
}

const short = (o: Partial<ReducerOptions> = {}): ReducerOptions => ({
  answerKind: "short",
  minAgreement: 0.5,
  requireConsensus: false,
  conflictResolution: "highest_weight_wins",
  ...o,
});
const long = (o: Partial<ReducerOptions> = {}): ReducerOptions => ({ ...short(o), answerKind: "long" });

describe("reduce: short answers", () => {
  it("unanimous messy answers share one key; the heaviest answer's text is the response", () => {
    const r = reduce(
      answers([
        "Canberra\n\nCanberra is the capital city of Australia.",
        "canberra",
        "The capital of Australia is **Canberra**.",
        " Canberra",
        "Answer: Canberra.",
      ]),
      short(),
    );
    expect(r.key).toBe("canberra");
    expect(r.consensusScore).toBe(1);
    expect(r.consensusReached).toBe(true);
    expect(r.agreed).toEqual([true, true, true, true, true]);
    expect(r.winnerSlot).toBe(0);
    expect(r.response).toBe("Canberra\n\nCanberra is the capital city of Australia.");
    expect(r.groups).toEqual([{ key: "canberra", weight: 4, slots: [0, 1, 2, 3, 4] }]);
  });

  it("majority by weight beats majority by count", () => {
    const r = reduce(answers(["Canberra", "Sydney", "Sydney, Australia", "canberra.", "It's Sydney."], [1.0, 0.5, 0.5, 0.9, 0.6]), short());
    expect(r.key).toBe("canberra");
    expect(r.groups.map((g) => [g.key, g.weight, g.slots])).toEqual([
      ["canberra", 1.9, [0, 3]],
      ["sydney", 1.6, [1, 2, 4]],
    ]);
    expect(r.consensusScore).toBe(0.5429);
    expect(r.consensusReached).toBe(true);
    expect(r.agreed).toEqual([true, false, false, true, false]);
  });

  it("equal totals: the group holding the heaviest single answer wins (0.1 + 0.2 ties 0.3 despite float noise)", () => {
    const r = reduce(answers(["12", "13", "The answer is 12."], [0.1, 0.3, 0.2]), short());
    expect(0.1 + 0.2).toBeGreaterThan(0.3);
    expect(r.key).toBe("13");
    expect(r.winnerSlot).toBe(1);
    expect(r.consensusScore).toBe(0.5);
    expect(r.agreed).toEqual([false, true, false]);
  });

  it("equal totals and equal heaviest answers: the group with the lowest slot wins", () => {
    const r = reduce(answers(["Marseille", "Paris", "It is Lyon.", "Nice"], [0.2, 0.8, 0.8, 0.2]), short());
    expect(r.groups.map((g) => g.key)).toEqual(["paris", "lyon", "marseille", "nice"]);
    expect(r.key).toBe("paris");
    expect(r.winnerSlot).toBe(1);
    // Both groups weigh 1.0 and hold a 0.8 answer; lyon's group holds slot 0.
    const spread = reduce(answers(["Lyon", "Paris", "lyon.", "paris"], [0.2, 0.8, 0.8, 0.2]), short());
    expect(spread.key).toBe("lyon");
    expect(spread.winnerSlot).toBe(2); // the group's heaviest answer gives the response
    expect(spread.response).toBe("lyon.");
    expect(spread.consensusScore).toBe(0.5);
  });

  it("all disagree: the heaviest answer wins with its weight share, below min_agreement", () => {
    const r = reduce(answers(["Ottawa", "Toronto.", "Montreal, Quebec", "It's Vancouver", "Calgary"]), short());
    expect(r.key).toBe("ottawa");
    expect(r.winnerSlot).toBe(0);
    expect(r.consensusScore).toBe(0.25); // 1.0 of 4.0
    expect(r.consensusReached).toBe(false);
    expect(r.groups.map((g) => g.key)).toEqual(["ottawa", "toronto", "vancouver", "montreal", "calgary"]);
    expect(r.agreed.filter(Boolean)).toHaveLength(1);
  });

  it("require_consensus true and min_agreement not met: NoConsensusError naming the groups and the fix", () => {
    const set = answers(["Mercury", "Venus.", "mercury", "The answer is Mars.", "Venus"]);
    // mercury 1.7 of 4.0 = 0.425 < 0.5
    let error: unknown;
    try {
      reduce(set, short({ requireConsensus: true }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NoConsensusError);
    expect(error).toBeInstanceOf(RippleError);
    const e = error as NoConsensusError;
    expect(e.name).toBe("NoConsensusError");
    expect(e.consensusScore).toBe(0.425);
    expect(e.message).toContain('"mercury"=1.7 (slots 0,2)');
    expect(e.message).toContain('"venus"=1.5 (slots 1,4)');
    expect(e.message).toContain("min_agreement is 0.5");
    expect(e.fix).toMatch(/min_agreement|requireConsensus/);
    expect(e.groups.map((g) => g.key)).toEqual(["mercury", "venus", "mars"]);
  });

  it("require_consensus false and min_agreement not met: the best-weighted answer, consensusReached false", () => {
    const r = reduce(answers(["Mercury", "Venus.", "mercury", "The answer is Mars.", "Venus"]), short());
    expect(r.key).toBe("mercury");
    expect(r.response).toBe("Mercury");
    expect(r.consensusScore).toBe(0.425);
    expect(r.consensusReached).toBe(false);
    const lenient = reduce(answers(["Mercury", "Venus.", "mercury", "The answer is Mars.", "Venus"]), short({ minAgreement: 0.4, requireConsensus: true }));
    expect(lenient.consensusReached).toBe(true);
  });

  it("a garbage answer is outvoted and marked agreed=false", () => {
    const r = reduce(answers(["Jupiter", "Jupiter.", "asdf qwer zxcv ###", "The largest planet is Jupiter.", "jupiter"]), short());
    expect(r.key).toBe("jupiter");
    expect(r.agreed).toEqual([true, true, false, true, true]);
    expect(r.consensusScore).toBe(0.825); // 3.3 of 4.0
    expect(r.groups.at(-1)).toEqual({ key: "asdf qwer zxcv", weight: 0.7, slots: [2] });
  });

  it("empty answers never win; they count in the total and sit in the '' group", () => {
    const r = reduce(answers(["", "   \n", "42", "###", "The answer is 42."], [1.0, 0.9, 0.7, 0.8, 0.6]), short());
    expect(r.key).toBe("42");
    expect(r.winnerSlot).toBe(2);
    expect(r.response).toBe("42");
    expect(r.consensusScore).toBe(0.325); // 1.3 of 4.0, although the '' group is heavier
    expect(r.agreed).toEqual([false, false, true, false, true]);
    expect(r.groups).toEqual([
      { key: "42", weight: 1.3, slots: [2, 4] },
      { key: "", weight: 2.7, slots: [0, 1, 3] },
    ]);
  });

  it("all answers empty: response '', score 0, no winner; require_consensus throws", () => {
    const set = answers(["", " ", "**", "\n\n"]);
    const r = reduce(set, short({ minAgreement: 0 }));
    expect(r).toMatchObject({ response: "", key: "", consensusScore: 0, consensusReached: false, winnerSlot: -1 });
    expect(r.agreed).toEqual([false, false, false, false]);
    expect(() => reduce(set, short({ requireConsensus: true }))).toThrow(NoConsensusError);
  });

  it("number words, digits, 3.0 and 1,000 vote together", () => {
    const r = reduce(answers(["seven", "7", "Seven.", "The answer is 7.", "7.0"]), short());
    expect(r.key).toBe("7");
    expect(r.consensusScore).toBe(1);
    const thousands = reduce(answers(["1,000", "1000", "1000 meters", "one thousand"]), short());
    expect(thousands.key).toBe("1000");
    expect(thousands.agreed).toEqual([true, true, true, true]);
  });

  it("yes/no variants vote together", () => {
    const r = reduce(answers(["Yes, it is.", "yes", "Yes! A tomato is botanically a fruit.", "No.", "YES"]), short());
    expect(r.key).toBe("yes");
    expect(r.agreed).toEqual([true, true, true, false, true]);
  });
});

describe("reduce: long answers", () => {
  const isPrimeA = "```python\ndef is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, int(n ** 0.5) + 1):\n        if n % i == 0:\n            return False\n    return True\n```";
  const isPrimeB = "Here is the function:\n\n```python\ndef is_prime(num):\n    if num <= 1:\n        return False\n    for d in range(2, num):\n        if num % d == 0:\n            return False\n    return True\n```\nThis checks every divisor.";
  const isPrimeC = 'def is_prime(n):\n    """Return True if n is prime."""\n    if n <= 1:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True';
  const reverse = '```python\ndef reverse_string(s):\n    return s[::-1]\n\nprint(reverse_string("hello"))\n```';

  it("three similar functions agree, the unrelated one does not; the winner is one of the similar ones", () => {
    const r = reduce(answers([reverse, isPrimeA, isPrimeB, isPrimeC], [1.0, 0.9, 0.7, 0.8]), long());
    expect([1, 2, 3]).toContain(r.winnerSlot);
    expect(r.agreed).toEqual([false, true, true, true]);
    expect(r.consensusScore).toBe(0.7059); // 2.4 of 3.4, although the odd one is the heaviest
    expect(r.consensusReached).toBe(true);
    expect(r.response).toBe([reverse, isPrimeA, isPrimeB, isPrimeC][r.winnerSlot]!.trim());
    expect(r.key).toBe(normaliseLongAnswer(r.response));
    expect(r.groups.map((g) => g.slots)).toEqual([[1, 2, 3], [0]]);
  });

  it("similar pairs score above the agreement threshold, unrelated code below", () => {
    for (const [a, b] of [[isPrimeA, isPrimeB], [isPrimeA, isPrimeC], [isPrimeB, isPrimeC]] as const) {
      expect(similarity(a, b)).toBeGreaterThanOrEqual(LONG_AGREEMENT_THRESHOLD);
    }
    for (const p of [isPrimeA, isPrimeB, isPrimeC]) expect(similarity(p, reverse)).toBeLessThan(LONG_AGREEMENT_THRESHOLD);
  });

  it("a lone long answer wins alone; empty long answers never win", () => {
    const r = reduce(answers(["", isPrimeA, "  "]), long());
    expect(r.winnerSlot).toBe(1);
    expect(r.agreed).toEqual([false, true, false]);
    expect(r.consensusScore).toBe(0.3462); // 0.9 of 2.6
    expect(r.groups.at(-1)).toEqual({ key: "", weight: 1.7, slots: [0, 2] });
    const none = reduce(answers(["", "```\n```"]), long());
    expect(none).toMatchObject({ response: "", winnerSlot: -1, consensusScore: 0, consensusReached: false });
  });
});

describe("reduce: order does not matter", () => {
  const shortSet = answers(["Lyon", "Paris", "lyon.", "paris", "asdf"], [0.2, 0.8, 0.8, 0.2, 0.5]);
  const longSet = answers([
    "def add(a, b):\n    return a + b",
    "```python\ndef add(x, y):\n    return x + y\n```",
    "def add(a, b): return a+b",
    "The weather is nice today.",
  ]);

  it.each([
    ["short", shortSet, short()],
    ["long", longSet, long()],
  ] as const)("every permutation of the %s set gives the same reduction", (_, set, opts) => {
    const expected = bySlot(set, reduce(set, opts));
    for (const perm of permutations(set)) expect(bySlot(perm, reduce(perm, opts))).toEqual(expected);
  });

  /** The reduction with `agreed` keyed by slot, so results of permuted inputs compare. */
  function bySlot(set: readonly ReducerAnswer[], r: Reduction) {
    return { ...r, agreed: Object.fromEntries(set.map((a, i) => [a.slot, r.agreed[i]])) };
  }

  function permutations<T>(xs: readonly T[]): T[][] {
    if (xs.length <= 1) return [[...xs]];
    return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  }
});

describe("reduce: bad input", () => {
  it("zero answers → NoAnswersError", () => {
    expect(() => reduce([], short())).toThrow(NoAnswersError);
  });

  it.each([
    ["duplicate slot", [...answers(["a"]), ...answers(["b"])], short(), /two answers have slot 0/],
    ["zero weight", answers(["a"], [0]), short(), /has weight 0.*positive weight/],
    ["NaN weight", answers(["a"], [Number.NaN]), short(), /has weight NaN/],
    ["minAgreement > 1", answers(["a"]), short({ minAgreement: 1.5 }), /minAgreement is 1.5/],
    ["unknown answer kind", answers(["a"]), { ...short(), answerKind: "medium" as "short" }, /answerKind is "medium"/],
  ] as const)("%s → ReducerInputError", (_, set, opts, message) => {
    expect(() => reduce(set, opts)).toThrow(ReducerInputError);
    expect(() => reduce(set, opts)).toThrow(message);
  });
});

describe("extractShortAnswer", () => {
  it.each([
    ["The answer is **42**.", "42"],
    ["42\n\nExplanation: 6 times 7 is 42.", "42"],
    ["Paris.", "paris"],
    ["paris", "paris"],
    ["It's Paris, France", "paris"],
    ["Answer: 7", "7"],
    ["**Answer:** Canberra", "canberra"],
    ["Answer:\nCanberra", "canberra"],
    ["seven", "7"],
    ["twenty-one", "21"],
    ["one hundred and five", "105"],
    ["minus five", "-5"],
    ["1,000", "1000"],
    ["3.0", "3"],
    ["$1.50", "1.5"],
    ["100 cm", "100"],
    ["1/2", "1/2"],
    ["Yes, it is", "yes"],
    ["No, it isn't.", "no"],
    ['"Paris"', "paris"],
    ["'ab'", "ab"],
    ["The capital of France is Paris.", "paris"],
    ["Paris is the capital of France.", "paris"],
    ["A tomato is a fruit.", "fruit"],
    ["The opposite of hot is cold.", "cold"],
    ["Sentiment: Positive", "positive"],
    ["The sentiment is negative.", "negative"],
    ["To find 15% of 80, we compute:\n0.15 * 80 = 12\nSo the answer is 12.", "12"],
    ["To solve this:\n\\[ 17 \\times 23 = 391 \\]", "391"],
    ["The final answer is $\\boxed{391}$", "391"],
    ["len('abc') returns 3", "3"],
    ["There are 3 r's in strawberry.", "3"],
    ["The letter 't'", "t"],
    ["an apple", "apple"],
    ["A", "a"],
    ["São Paulo", "sao paulo"],
    ["Ottawa (Canada's capital)", "ottawa"],
    [" Mars\n\nQuestion: What is the largest planet?", "mars"],
    ["In 1969.", "1969"],
    ["```\n8\n```", "8"],
    ["asdf qwer zxcv ###", "asdf qwer zxcv"],
    ["", ""],
    ["  \n\t", ""],
    ["###", ""],
  ])("%j → %j", (text, key) => {
    expect(extractShortAnswer(text)).toBe(key);
  });
});

describe("extractShortAnswer on a hostile peer's reply", () => {
  // A worker's answer is up to 64 KiB of peer text, keyed on every quorum check and in the reducer.
  // These shapes made the old patterns backtrack quadratically: 19–28 s for one 64 KiB reply, with
  // the requester's event loop (pings, heartbeats, its API) stalled meanwhile.
  const n = 65_536;
  it.each([
    ["a run of punctuation before a last letter", "a" + "~".repeat(n) + "b"],
    ["a run of spaces", "x" + " ".repeat(n) + "y"],
    ["a run of newlines", "x" + "\n".repeat(n) + "y"],
    ["lines of spaces", "x" + "\n ".repeat(n / 2) + "y"],
    ["a repeated label", "answer: ".repeat(n / 8) + "paris"],
    ["open brackets", "a" + "(".repeat(n)],
    ["open brackets after a letter", "(a".repeat(n / 2)],
  ])("%s: keyed in well under a second, its key at most 1000 characters", (_shape, text) => {
    const started = performance.now();
    const key = extractShortAnswer(text);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(key.length).toBeLessThanOrEqual(1000);
  });

  it("a long reply's ordinary answer is still found", () => {
    expect(extractShortAnswer("The capital of France is Paris." + " filler".repeat(5000))).toBe("paris");
    expect(extractShortAnswer("Paris!!!" + "!".repeat(60_000))).toBe("paris");
  });
});

describe("similarity", () => {
  it("is symmetric, 1 for texts equal after normalisation, 0 against empty, within [0, 1]", () => {
    const a = "The loop recomputes the sum each time; keep a running total.";
    const b = "It recomputes the sum on every pass, so keep a running total instead.";
    expect(similarity(a, b)).toBe(similarity(b, a));
    expect(similarity(a, b)).toBeGreaterThan(0);
    expect(similarity(a, b)).toBeLessThan(1);
    expect(similarity("```python\nx = 1\n```", "x  =  1")).toBe(1);
    expect(similarity(a, "")).toBe(0);
    expect(similarity("", "")).toBe(0);
  });
});
