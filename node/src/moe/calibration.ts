// Expert weights from measurement: what `ripple moe calibrate` computes from each expert's answers on
// a labelled set. Pure and deterministic: the same answers give the same weights, in any order.
//
// 1. Accuracy with a prior, so that a few questions cannot swing a weight: per expert overall,
//    p = (correct + 2) / (n + 4) (a Beta(2, 2) prior around 0.5); per task type, the expert's overall
//    accuracy is the prior's centre, with the strength of 4 questions.
// 2. The weight of an independent voter is its log-odds against a wrong answer, ln(p (K − 1) / (1 − p)):
//    weighted plurality with these weights is the most accurate vote of independent experts choosing
//    among K answers (Nitzan & Paroush 1982; Ben-Yashar & Paroush 2001 for K > 2). Short answers are
//    open, so a 30 %-accurate expert is far better than chance; K = 10 stands for "many possible
//    answers". A weight stays within 0.05..8 (the policy needs > 0; a 0.05 expert should rather go).
// 3. Experts that share a model or a prompt fail together. For each pair, `similarity` is how often
//    they gave the SAME wrong answer among the questions where either was wrong (+1 in the
//    denominator as a prior). An expert's weight is divided by its redundancy, 1 + Σ similarity to
//    the others, so a block of n identical experts weighs as much as one of them, and an expert whose
//    mistakes are its own keeps its full weight (a Dawid–Skene-style correction of the shared errors).
//
// 4. With confidences (reducer.confidence), the exponent a vote's confidence is raised to
//    (vote-confidence.ts): the vote is replayed over the set with the weights of steps 1-3 for each
//    exponent of EXPONENTS, and the one that answers most questions right is kept (the smallest on a
//    tie: a sharper vote must earn its place).
import { expertWeight } from "../config/inference-policy.ts";
import { extractShortAnswer } from "./answer-text.ts";
import { reduce } from "./reducer.ts";
import { confidenceFactor } from "./vote-confidence.ts";

export interface CalibrationAnswer {
  /** The question's id in the set. */
  question: string;
  taskType: string;
  expert: string;
  /** The expert's reply as generated. */
  answer: string;
  correct: boolean;
  /** The probability the expert's model gave its own answer (answer-confidence.ts), when asked for. */
  confidence?: number;
}

export interface ExpertCalibration {
  questions: number;
  correct: number;
  /** Accuracy with the prior (step 1). */
  accuracy: number;
  /** 1 + Σ similarity to the other experts (step 3). */
  redundancy: number;
  /** The overall weight to write (step 2 ÷ step 3), rounded to 3 decimals. */
  weight: number;
  /** Per task type seen in the set. */
  weights: Record<string, number>;
}

export interface PairSimilarity {
  a: string;
  b: string;
  sameWrong: number;
  eitherWrong: number;
  similarity: number;
}

export interface CalibrationResult {
  experts: Record<string, ExpertCalibration>;
  pairs: PairSimilarity[];
  /** Step 4, when every answer came with a confidence. */
  confidenceExponent?: ExponentCalibration;
}

export interface ExponentCalibration {
  exponent: number;
  /** Questions the replayed vote answered right, per exponent tried. */
  correct: Array<{ exponent: number; correct: number }>;
  questions: number;
}

/** The confidence exponents step 4 tries. */
export const EXPONENTS = [1, 2, 3, 4, 5, 6, 8, 10] as const;

const MIN_WEIGHT = 0.05;
const MAX_WEIGHT = 8;
const TASK_PRIOR_STRENGTH = 4;
/** Plausible answers to a short-answer question (step 2). */
const ANSWER_CHOICES = 10;

const logOdds = (p: number) => Math.min(MAX_WEIGHT, Math.max(MIN_WEIGHT, Math.log((p * (ANSWER_CHOICES - 1)) / (1 - p))));
const round3 = (n: number) => Math.round(n * 1000) / 1000;

export function calibrateWeights(answers: CalibrationAnswer[]): CalibrationResult {
  const experts = [...new Set(answers.map((a) => a.expert))].sort();
  const byExpert = new Map(experts.map((e) => [e, answers.filter((a) => a.expert === e)]));

  const pairs: PairSimilarity[] = [];
  for (let i = 0; i < experts.length; i++) {
    for (let j = i + 1; j < experts.length; j++) pairs.push(similarity(experts[i]!, experts[j]!, byExpert));
  }
  const redundancy = new Map(experts.map((e) => [e, 1 + pairs.filter((p) => p.a === e || p.b === e).reduce((s, p) => s + p.similarity, 0)]));

  const result: Record<string, ExpertCalibration> = {};
  for (const expert of experts) {
    const own = byExpert.get(expert)!;
    const correct = own.filter((a) => a.correct).length;
    const accuracy = (correct + 2) / (own.length + 4);
    const r = redundancy.get(expert)!;
    const weights: Record<string, number> = {};
    for (const taskType of [...new Set(own.map((a) => a.taskType))].sort()) {
      const ofType = own.filter((a) => a.taskType === taskType);
      const c = ofType.filter((a) => a.correct).length;
      const p = (c + TASK_PRIOR_STRENGTH * accuracy) / (ofType.length + TASK_PRIOR_STRENGTH);
      weights[taskType] = round3(Math.max(MIN_WEIGHT, logOdds(p) / r));
    }
    result[expert] = { questions: own.length, correct, accuracy: round3(accuracy), redundancy: round3(r), weight: round3(Math.max(MIN_WEIGHT, logOdds(accuracy) / r)), weights };
  }
  const withConfidence = answers.length > 0 && answers.every((a) => a.confidence !== undefined);
  return { experts: result, pairs, ...(withConfidence ? { confidenceExponent: calibrateConfidenceExponent(answers, result) } : {}) };
}

/** Step 4: the exponent under which the replayed vote (weights of steps 1-3) is right most often. */
export function calibrateConfidenceExponent(answers: readonly CalibrationAnswer[], experts: Record<string, ExpertCalibration>): ExponentCalibration {
  const byQuestion = new Map<string, CalibrationAnswer[]>();
  for (const a of [...answers].sort((x, y) => x.expert.localeCompare(y.expert))) byQuestion.set(a.question, [...(byQuestion.get(a.question) ?? []), a]);
  const weightOf = (a: CalibrationAnswer) => expertWeight(experts[a.expert]!, a.taskType);
  const correct = EXPONENTS.map((exponent) => {
    let right = 0;
    for (const group of byQuestion.values()) {
      const votes = group.map((a, slot) => ({ slot, expert: a.expert, weight: weightOf(a) * confidenceFactor(a.confidence, exponent), text: a.answer }));
      const won = reduce(votes, { answerKind: "short", minAgreement: 0.5, requireConsensus: false, conflictResolution: "highest_weight_wins" }).winnerSlot;
      if (won >= 0 && group[won]!.correct) right++;
    }
    return { exponent, correct: right };
  });
  const best = correct.reduce((b, c) => (c.correct > b.correct ? c : b));
  return { exponent: best.exponent, correct, questions: byQuestion.size };
}

function similarity(a: string, b: string, byExpert: Map<string, CalibrationAnswer[]>): PairSimilarity {
  const answersOf = (e: string) => new Map(byExpert.get(e)!.map((x) => [x.question, x]));
  const ofA = answersOf(a);
  const ofB = answersOf(b);
  let sameWrong = 0;
  let eitherWrong = 0;
  for (const [question, x] of ofA) {
    const y = ofB.get(question);
    if (!y || (x.correct && y.correct)) continue;
    eitherWrong++;
    if (!x.correct && !y.correct && sameAnswer(x.answer, y.answer)) sameWrong++;
  }
  return { a, b, sameWrong, eitherWrong, similarity: round3(sameWrong / (eitherWrong + 1)) };
}

/** Two replies say the same thing when their short-answer keys match (the reducer votes on those). */
function sameAnswer(x: string, y: string): boolean {
  const kx = extractShortAnswer(x);
  return kx !== "" && kx === extractShortAnswer(y);
}
