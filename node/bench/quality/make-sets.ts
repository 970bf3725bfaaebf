// Writes the calibration set and the evaluation set (JSON lines) of `ripple moe calibrate` and the
// quality bench: `npx tsx node/bench/quality/make-sets.ts`. Deterministic (a fixed seed), so the
// committed files can be regenerated and checked.
//
// 16 kinds of short answers whose right answer is computed (arithmetic, sequences, letters, roman
// numerals, units, days, comparisons) or read from a table written here (capitals, chemical symbols,
// opposites, plurals, animal classes, sentiment). Table items are split between the two sets (even
// positions to calibration, odd to evaluation) and computed ones are drawn without repeats across
// both, so no question of the evaluation set is in the calibration set, and none is in the older
// questions.json. Calibration: 8 per kind (128); evaluation: 14 per kind (224).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { QualityQuestion } from "../../src/moe/labelled-set.ts";
import { loadQuestions } from "../../src/moe/labelled-set.ts";

type Kind = { id: string; kind: string; taskType: QualityQuestion["task_type"]; make: (pick: Picker) => { question: string; answers: string[] } };
interface Picker {
  int(min: number, max: number): number;
  /** An item of a table, never the same one twice in the whole run, from this set's half. */
  item<T>(table: readonly T[]): T;
}

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const capitals = [
  ["France", "Paris"], ["Germany", "Berlin"], ["Spain", "Madrid"], ["Portugal", "Lisbon"], ["Norway", "Oslo"], ["Sweden", "Stockholm"],
  ["Finland", "Helsinki"], ["Denmark", "Copenhagen"], ["Poland", "Warsaw"], ["Austria", "Vienna"], ["Greece", "Athens"], ["Ireland", "Dublin"],
  ["Egypt", "Cairo"], ["Kenya", "Nairobi"], ["Peru", "Lima"], ["Chile", "Santiago"], ["Argentina", "Buenos Aires"], ["Cuba", "Havana"],
  ["Russia", "Moscow"], ["China", "Beijing"], ["South Korea", "Seoul"], ["Thailand", "Bangkok"], ["Hungary", "Budapest"], ["Belgium", "Brussels"],
  ["the Netherlands", "Amsterdam"], ["Czechia", "Prague"], ["Iceland", "Reykjavik"], ["Mexico", "Mexico City"], ["Colombia", "Bogota"], ["Iran", "Tehran"],
] as const;
const elements = [
  ["oxygen", "O"], ["hydrogen", "H"], ["carbon", "C"], ["nitrogen", "N"], ["sodium", "Na"], ["potassium", "K"], ["iron", "Fe"], ["gold", "Au"],
  ["silver", "Ag"], ["copper", "Cu"], ["helium", "He"], ["neon", "Ne"], ["calcium", "Ca"], ["zinc", "Zn"], ["lead", "Pb"], ["tin", "Sn"],
  ["mercury", "Hg"], ["sulfur", "S"], ["chlorine", "Cl"], ["magnesium", "Mg"], ["uranium", "U"], ["phosphorus", "P"], ["silicon", "Si"], ["argon", "Ar"],
  ["lithium", "Li"], ["nickel", "Ni"], ["platinum", "Pt"], ["iodine", "I"], ["fluorine", "F"], ["aluminium", "Al"],
] as const;
const opposites = [
  ["up", "down"], ["early", "late"], ["full", "empty"], ["heavy", "light"], ["open", "closed"], ["rich", "poor"], ["wet", "dry"], ["fast", "slow"],
  ["young", "old"], ["loud", "quiet"], ["thick", "thin"], ["strong", "weak"], ["cheap", "expensive"], ["win", "lose"], ["buy", "sell"], ["push", "pull"],
  ["above", "below"], ["first", "last"], ["friend", "enemy"], ["true", "false"], ["sweet", "sour"], ["deep", "shallow"], ["inside", "outside"], ["arrive", "leave"],
  ["remember", "forget"], ["smooth", "rough"], ["narrow", "wide"], ["sharp", "blunt"], ["begin", "end"], ["north", "south"],
] as const;
const plurals = [
  ["mouse", "mice"], ["goose", "geese"], ["child", "children"], ["foot", "feet"], ["tooth", "teeth"], ["man", "men"], ["woman", "women"], ["person", "people"],
  ["ox", "oxen"], ["cactus", "cacti"], ["knife", "knives"], ["leaf", "leaves"], ["wolf", "wolves"], ["half", "halves"], ["box", "boxes"], ["city", "cities"],
  ["baby", "babies"], ["potato", "potatoes"], ["hero", "heroes"], ["sheep", "sheep"], ["fish", "fish"], ["deer", "deer"], ["crisis", "crises"], ["analysis", "analyses"],
  ["wife", "wives"], ["life", "lives"], ["bus", "buses"], ["church", "churches"], ["party", "parties"], ["louse", "lice"],
] as const;
const animals = [
  ["whale", "mammal"], ["dolphin", "mammal"], ["bat", "mammal"], ["penguin", "bird"], ["ostrich", "bird"], ["eagle", "bird"], ["shark", "fish"], ["salmon", "fish"],
  ["frog", "amphibian"], ["salamander", "amphibian"], ["snake", "reptile"], ["crocodile", "reptile"], ["turtle", "reptile"], ["owl", "bird"], ["tuna", "fish"], ["horse", "mammal"],
  ["lizard", "reptile"], ["toad", "amphibian"], ["parrot", "bird"], ["seal", "mammal"], ["trout", "fish"], ["camel", "mammal"], ["gecko", "reptile"], ["newt", "amphibian"],
  ["duck", "bird"], ["cod", "fish"], ["kangaroo", "mammal"], ["iguana", "reptile"], ["swan", "bird"], ["goldfish", "fish"],
] as const;
const sentiments = [
  ["I loved every minute of this film.", "positive"], ["The food was cold and the waiter was rude.", "negative"], ["What a wonderful surprise, thank you!", "positive"],
  ["This is the worst phone I have ever owned.", "negative"], ["The hotel room was clean and the staff were lovely.", "positive"], ["I want my money back, it broke in a day.", "negative"],
  ["Best concert of my life.", "positive"], ["The book was boring and far too long.", "negative"], ["Great value and fast delivery.", "positive"],
  ["I regret buying these shoes.", "negative"], ["The kids had a fantastic time at the park.", "positive"], ["The train was late again and nobody apologised.", "negative"],
  ["Such a beautiful and moving song.", "positive"], ["The app keeps crashing, terrible.", "negative"], ["I am delighted with the result.", "positive"],
  ["The service was slow and the coffee was awful.", "negative"], ["Everything about the trip was perfect.", "positive"], ["I hated the ending.", "negative"],
  ["A truly brilliant performance.", "positive"], ["The instructions were confusing and useless.", "negative"], ["My new bike is amazing.", "positive"],
  ["The room smelled bad and the bed was broken.", "negative"], ["Lovely weather for a picnic today.", "positive"], ["That was a complete waste of time.", "negative"],
  ["The teacher was kind and helpful.", "positive"], ["The movie was dull and predictable.", "negative"], ["I highly recommend this restaurant.", "positive"],
  ["The package arrived damaged.", "negative"], ["What a fun game!", "positive"], ["I will never shop here again.", "negative"],
] as const;
const words = ["apple", "garden", "planet", "window", "bridge", "orange", "pencil", "rabbit", "silver", "tomato", "yellow", "castle", "jacket", "monkey", "forest", "butter", "candle", "dragon", "guitar", "kitten", "ladder", "marble", "needle", "pepper", "rocket", "saddle", "tunnel", "violin", "wallet", "zipper", "basket", "cookie"];
const units = [["meters", "centimeters", 100], ["kilograms", "grams", 1000], ["hours", "minutes", 60], ["minutes", "seconds", 60], ["kilometers", "meters", 1000], ["days", "hours", 24]] as const;
const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

function roman(n: number): string {
  const table: Array<[number, string]> = [[1000, "M"], [900, "CM"], [500, "D"], [400, "CD"], [100, "C"], [90, "XC"], [50, "L"], [40, "XL"], [10, "X"], [9, "IX"], [5, "V"], [4, "IV"], [1, "I"]];
  let out = "";
  for (const [v, s] of table) while (n >= v) (out += s), (n -= v);
  return out;
}

const kinds: Kind[] = [
  { id: "add", kind: "addition", taskType: "math", make: (p) => { const a = p.int(12, 89), b = p.int(12, 89); return { question: `What is ${a} plus ${b}?`, answers: [String(a + b)] }; } },
  { id: "sub", kind: "subtraction", taskType: "math", make: (p) => { const a = p.int(40, 99), b = p.int(11, a - 1); return { question: `What is ${a} minus ${b}?`, answers: [String(a - b)] }; } },
  { id: "mul", kind: "multiplication", taskType: "math", make: (p) => { const a = p.int(3, 9), b = p.int(11, 25); return { question: `What is ${a} times ${b}?`, answers: [String(a * b)] }; } },
  { id: "seq", kind: "sequence", taskType: "math", make: (p) => { const s = p.int(2, 30), d = p.int(2, 12); const xs = [0, 1, 2, 3].map((i) => s + i * d); return { question: `What number comes next: ${xs.join(", ")}, ...?`, answers: [String(s + 4 * d)] }; } },
  { id: "roman", kind: "roman_numeral", taskType: "math", make: (p) => { const n = p.int(4, 60); return { question: `What number is the Roman numeral ${roman(n)}?`, answers: [String(n)] }; } },
  { id: "unit", kind: "units", taskType: "math", make: (p) => { const m = p.int(2, 19); const [from, to, f] = units[p.int(0, units.length - 1)]!; return { question: `How many ${to} are in ${m} ${from}?`, answers: [String(m * f)] }; } },
  { id: "letters", kind: "letter_count", taskType: "math", make: (p) => { const w = p.item(words); return { question: `How many letters are in the word "${w}"?`, answers: [String(w.length)] }; } },
  { id: "larger", kind: "comparison", taskType: "short_answer", make: (p) => { const a = p.int(10, 99); let b = p.int(10, 99); if (b === a) b = a + 1; return { question: `Which number is larger, ${a} or ${b}?`, answers: [String(Math.max(a, b))] }; } },
  { id: "day", kind: "weekday", taskType: "short_answer", make: (p) => { const d = p.int(0, 6), k = p.int(1, 5); return { question: `What day of the week is ${k} day${k > 1 ? "s" : ""} after ${days[d]}?`, answers: [days[(d + k) % 7]!] }; } },
  { id: "first", kind: "first_letter", taskType: "short_answer", make: (p) => { const w = words[p.int(0, words.length - 1)]!; return { question: `What is the first letter of the word "${w}"?`, answers: [w[0]!] }; } },
  { id: "capital", kind: "capital", taskType: "short_answer", make: (p) => { const [c, a] = p.item(capitals); return { question: `What is the capital city of ${c}?`, answers: [a] }; } },
  { id: "element", kind: "chemical_symbol", taskType: "short_answer", make: (p) => { const [e, s] = p.item(elements); return { question: `What is the chemical symbol for ${e}?`, answers: [s] }; } },
  { id: "opposite", kind: "opposite", taskType: "short_answer", make: (p) => { const [w, o] = p.item(opposites); return { question: `What is the opposite of "${w}"?`, answers: [o] }; } },
  { id: "plural", kind: "plural", taskType: "short_answer", make: (p) => { const [w, pl] = p.item(plurals); return { question: `What is the plural of "${w}"?`, answers: [pl] }; } },
  { id: "animal", kind: "animal_class", taskType: "classification", make: (p) => { const [a, c] = p.item(animals); return { question: `Is a ${a} a mammal, bird, fish, reptile or amphibian?`, answers: [c] }; } },
  { id: "sentiment", kind: "sentiment", taskType: "classification", make: (p) => { const [t, s] = p.item(sentiments); return { question: `Is the sentiment of this review positive or negative? "${t}"`, answers: [s] }; } },
];

function makeSet(half: 0 | 1, perKind: number, seed: number, taken: Set<string>): QualityQuestion[] {
  const random = rng(seed);
  const used = new Set<unknown>();
  const picker: Picker = {
    int: (min, max) => min + Math.floor(random() * (max - min + 1)),
    item: <T>(table: readonly T[]): T => {
      const mine = table.filter((_, i) => i % 2 === half && !used.has(table[i]));
      const chosen = mine[Math.floor(random() * mine.length)];
      if (chosen === undefined) throw new Error("a table ran out of items: make it longer or ask fewer per kind");
      used.add(chosen);
      return chosen;
    },
  };
  const out: QualityQuestion[] = [];
  for (const k of kinds) {
    for (let n = 1, tries = 0; n <= perKind; tries++) {
      if (tries > 1000) throw new Error(`cannot draw ${perKind} distinct ${k.kind} questions`);
      const { question, answers } = k.make(picker);
      if (taken.has(question)) continue;
      taken.add(question);
      out.push({ id: `${k.id}-${String(n).padStart(2, "0")}`, kind: k.kind, task_type: k.taskType, question, answers });
      n++;
    }
  }
  return out;
}

const dir = import.meta.dirname;
const taken = new Set(loadQuestions(join(dir, "questions.json")).map((q) => q.question));
const calibration = makeSet(0, 8, 20261204, taken);
const evaluation = makeSet(1, 14, 20261205, taken);
const write = (name: string, qs: QualityQuestion[]) => writeFileSync(join(dir, name), qs.map((q) => JSON.stringify(q)).join("\n") + "\n");
write("calibration.jsonl", calibration);
write("evaluation.jsonl", evaluation);
console.log(`calibration.jsonl: ${calibration.length} questions; evaluation.jsonl: ${evaluation.length} questions; ${kinds.length} kinds`);
