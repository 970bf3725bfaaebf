// Turns the messy replies of small experts into something the reducer can vote on. Short answers get a
// canonical key ("The answer is **42**." → "42", "It's Paris, France" → "paris", "seven" → "7"); long
// answers (code, prose) get a normalised text and a cheap similarity. Everything here is deterministic and
// knows nothing about the question, so both a reply and an accepted answer go through the same rules.

/** Above this, long answers are compared on their first part only (bounds the work per pair). */
const MAX_SIMILARITY_CHARS = 20_000;
// Longer than any short answer's first clause; bounds the work on a peer's long reply.
const MAX_HEAD_CHARS = 1000;

const UNITS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19,
};
const TENS: Record<string, number> = {
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90,
};
const SCALES: Record<string, number> = { thousand: 1_000, million: 1_000_000 };

// "Answer: 7", "The answer is 7", "Final answer = 7", "A: 7" (few-shot Q/A echo).
const ANSWER_MARKER = /(?:\b(?:final answer|answer|result)\s*(?:is\b|:|=)|^a\s*:)\s*/i;
// Reasoning-first replies open with these; their answer is further down.
const LEAD_IN = /(?::$|^(?:to |let's |let us |first\b|step\b|we |here's how|here is how))/i;
// Words a reply puts before the answer that never are the answer.
const CONNECTIVE = /^(?:so|therefore|thus|hence|well|ok|okay|sure|great)\b[,:]?\s*/;
const FILLER =
  /^(?:i think|i believe|it's|it is|its|that's|that is|this is|it was|they are|approximately|about|around|roughly|exactly|just|in|on)\s+/;
// "Sentiment: positive", "Capital: Paris": a short label before a colon.
const LABEL_PREFIX = /^[\p{L} ]{1,24}:\s*(?=\S)/u;
const ARTICLE = /^(?:the|an|a)\s+(?=\S)/;
const LABEL_WORD = /^(?:letter|word|number|value|label)\s+(?=\S)/;
// "len('abc') returns 3", "2 + 2 equals 4".
const RESULT_VERB = /\s(?:returns|evaluates to|equals|is equal to|outputs|prints|gives)\s+(.+)$/;
// A full stop ends the sentence unless it ends an abbreviation or an initial ("Mt. Everest", "D.C.").
const SENTENCE_END = /(?:(?<!\b(?:mt|st|dr|mr|mrs|ms|jr|vs|[a-z]))\.|[!?;])(?=\s|$)/;
const DETERMINER_SUBJECT = /^(?:the|this|that|its|it|my|their|his|her)\b/;

/** The key a short answer is voted on: lower-case, no markdown, articles or punctuation, numbers as digits. "" when nothing is usable. */
export function extractShortAnswer(text: string): string {
  let s = answerSegment(stripMarkup(text));
  // A short answer's head is short; a longer one (a peer's 64 KiB of filler) is cut before the head
  // is looked for (some patterns there scan on from every bracket) and again after.
  s = cutToHead(foldCharacters(s.slice(0, 4 * MAX_HEAD_CHARS))).slice(0, MAX_HEAD_CHARS);
  const yesNo = yesOrNo(s);
  if (yesNo) return yesNo;
  s = stripRepeated(s, [LABEL_PREFIX, FILLER]);
  s = predicateOf(s);
  s = stripRepeated(s, [FILLER, ARTICLE, LABEL_WORD]);
  s = trimPunctuation(s).replace(/\s+/g, " ");
  s = canonicalNumber(numberWordsToDigits(s));
  return /[\p{L}\p{N}]/u.test(s) ? s : "";
}

/** Long answers as compared: code blocks only when there are any (the prose around them varies), lower-case, one space. */
export function normaliseLongAnswer(text: string): string {
  const body = text.includes("```") ? fencedContent(text) : text;
  return body.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

/** Similarity of two long answers in [0, 1]; 0 when either has nothing in it. */
export function similarity(a: string, b: string): number {
  return normalisedSimilarity(normaliseLongAnswer(a), normaliseLongAnswer(b));
}

/**
 * Similarity of two already normalised answers: the mean of word-set Jaccard (shared identifiers,
 * keywords and vocabulary, blind to order) and character-trigram cosine (near-identical spelling and
 * order, forgiving small renames and inflections). Either alone is fooled more easily: Jaccard by
 * word order, trigrams by the boilerplate all code shares.
 */
export function normalisedSimilarity(a: string, b: string): number {
  if (a === "" || b === "") return 0;
  if (a === b) return 1;
  const x = a.slice(0, MAX_SIMILARITY_CHARS);
  const y = b.slice(0, MAX_SIMILARITY_CHARS);
  return (jaccard(wordSet(x), wordSet(y)) + cosine(trigrams(x), trigrams(y))) / 2;
}

// ---- short answers: picking the part of the reply that holds the answer ----

/** Markdown and LaTeX that small models wrap answers in; \boxed{x} is Qwen's way of marking the answer. */
function stripMarkup(text: string): string {
  const boxed = /\\boxed\{([^{}]*)\}/.exec(text);
  const s = boxed ? boxed[1]! : text;
  return s
    .replace(/^[ \t]*```.*$/gm, "")
    .replace(/\*\*|__|`/g, "")
    .replace(/\\\(|\\\)|\\\[|\\\]/g, " ")
    .replace(/\\text\{([^{}]*)\}/g, "$1")
    .replace(/\\times/g, "*")
    .replace(/^[ \t]*(?:#+|>|[-*+•])[ \t]+/gm, "");
}

/** The answer is on the first line unless that line marks it further on or only leads into reasoning. */
function answerSegment(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => /[\p{L}\p{N}]/u.test(l));
  const first = lines[0] ?? "";
  const marked = afterMarker(lines, 0);
  if (marked !== undefined) return marked;
  if (!LEAD_IN.test(first) || lines.length < 2) return first;
  for (let i = 1; i < lines.length; i++) {
    const later = afterMarker(lines, i);
    if (later !== undefined) return later;
  }
  return lines.findLast((l) => l.includes("=")) ?? lines.at(-1)!;
}

/** What follows an answer marker on line i, or the next line when the marker ends the line. */
function afterMarker(lines: string[], i: number): string | undefined {
  const line = lines[i]!;
  const m = ANSWER_MARKER.exec(line);
  if (!m) return undefined;
  const rest = line.slice(m.index + m[0].length);
  return /[\p{L}\p{N}]/u.test(rest) ? rest : lines[i + 1];
}

// ---- short answers: reducing the segment to a key ----

/** Lower case, accents off (São → sao), typographic quotes and dashes made plain. */
function foldCharacters(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[‘’‚‛′]/g, "'")
    .replace(/[“”„‟″]/g, '"')
    .replace(/[–—]/g, " - ");
}

/** First sentence, first clause: explanations follow a full stop, comma, dash or bracket. */
function cutToHead(s: string): string {
  let t = s.split(SENTENCE_END)[0]!;
  t = t.replace(/\([^)]*\)/g, " ");
  t = t.replace(CONNECTIVE, "");
  t = t.replace(/(\d),(?=\d{3}(?!\d))/g, "$1"); // 1,000 → 1000 before commas end the clause
  t = t.split(/,|\s-\s/)[0]!;
  return t.trim();
}

function yesOrNo(s: string): "yes" | "no" | undefined {
  const first = trimPunctuation(s).split(/[\s,!.]/)[0];
  if (first === "yes" || first === "yeah" || first === "yep" || first === "yup") return "yes";
  if (first === "no" || first === "nope") return "no";
  return undefined;
}

function stripRepeated(s: string, patterns: RegExp[]): string {
  let t = trimPunctuation(s);
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of patterns) {
      const next = t.replace(p, "");
      if (next !== t) [t, changed] = [trimPunctuation(next), true];
    }
  }
  return t;
}

/**
 * "The capital of France is Paris" → paris, "Paris is the capital of France" → paris,
 * "A tomato is a fruit" → fruit, "17 * 23 = 391" → 391. Without the question this is a guess, so it
 * only fires on shapes where the answer's side is clear.
 */
function predicateOf(s: string): string {
  if (s.includes("=")) return s.slice(s.lastIndexOf("=") + 1).trim();
  const verb = RESULT_VERB.exec(s);
  if (verb) return verb[1]!;
  // The subject ends in a non-space, so each run of spaces is tried once (linear on peer text).
  const m = /^(.*?\S)\s+(?:is|are|was|were)\s+(.+)$/.exec(s);
  if (!m) return s;
  const [, subject, predicate] = m as unknown as [string, string, string];
  if (DETERMINER_SUBJECT.test(subject) || startsWithNumber(predicate)) return predicate;
  if (/^the\s/.test(predicate)) return subject;
  if (/^an?\s/.test(predicate)) return predicate;
  return s;
}

function startsWithNumber(s: string): boolean {
  return /^[-+$]?\.?\d/.test(s) || numberWordsToDigits(s) !== s;
}

/** Strip punctuation and quotes at both ends, but keep the sign of "-5" and the point of ".5". */
function trimPunctuation(s: string): string {
  return s
    .trim()
    .replace(/^(?![-+]?[$€£]?\.?\d)[^\p{L}\p{N}]+/u, "")
    // Only a run that starts after a letter or digit is tried: linear, where a bare `[^…]+$` is quadratic.
    .replace(/(?<![^\p{L}\p{N}])[^\p{L}\p{N}]+$/u, "");
}

/** "seven" → 7, "twenty-one" → 21, "one thousand" → 1000, "minus five" → -5; other words untouched. */
function numberWordsToDigits(s: string): string {
  const words = s.split(/[\s-]+/);
  let i = 0;
  let sign = "";
  if (words[0] === "minus" || words[0] === "negative") [sign, i] = ["-", 1];
  let [total, current, found] = [0, 0, false];
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w in UNITS) current += UNITS[w]!;
    else if (w in TENS) current += TENS[w]!;
    else if (w === "hundred") current = (current || 1) * 100;
    else if (w in SCALES) [total, current] = [total + (current || 1) * SCALES[w]!, 0];
    else if (w === "and" && found && /^(?:hundred|thousand|million)$/.test(words[i - 1]!)) continue;
    else break;
    found = true;
  }
  if (!found) return s;
  return [sign + String(total + current), ...words.slice(i)].join(" ");
}

/** A reply that starts with a number is that number ("100 cm" → 100, "3.0" → 3, "$1.50" → 1.5); fractions stay as written. */
function canonicalNumber(s: string): string {
  const fraction = /^-?\d+\/\d+(?!\d)/.exec(s);
  if (fraction) return fraction[0];
  const m = /^([-+]?)[$€£]?(\d*)(?:\.(\d+))?/.exec(s);
  if (!m || (m[2] === "" && m[3] === undefined)) return s;
  const int = m[2]!.replace(/^0+(?=\d)/, "") || "0";
  const frac = (m[3] ?? "").replace(/0+$/, "");
  const digits = frac ? `${int}.${frac}` : int;
  return m[1] === "-" && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

// ---- long answers ----

/** The contents of ``` blocks (an unclosed last block counts, replies get cut at max_tokens), language tags dropped. */
function fencedContent(text: string): string {
  const parts = text.split("```");
  const blocks = parts.filter((_, i) => i % 2 === 1);
  return blocks.map((b) => b.replace(/^[\w+#.-]*[ \t]*\r?\n/, "")).join("\n");
}

function wordSet(s: string): Set<string> {
  return new Set(s.match(/[\p{L}\p{N}_]+/gu) ?? []);
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared);
}

function trigrams(s: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (s.length < 3) counts.set(s, 1);
  for (let i = 0; i + 3 <= s.length; i++) {
    const g = s.slice(i, i + 3);
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  return counts;
}

function cosine(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  for (const [g, n] of a) dot += n * (b.get(g) ?? 0);
  const norm = (m: Map<string, number>) => Math.sqrt([...m.values()].reduce((t, n) => t + n * n, 0));
  return dot === 0 ? 0 : Math.min(1, dot / (norm(a) * norm(b)));
}
