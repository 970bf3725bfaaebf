// Experiment (session 24): merging the experts' answers by what every expert's model thinks of every
// candidate, not only by whose argmax each candidate was. For each question, every eligible expert
// answers as in quality-bench; each distinct candidate (the reducer's key) is then scored under every
// expert's own prompt: log P(candidate, then the answer's end) by that expert's model. Rules compared:
// the vote (calibrated weights), a product of experts (Σ w·log P), and a soft vote (Σ w·softmax over
// candidates of log P). Prints accuracy per rule.
//
//   npx tsx node/bench/cross-score-experiment.ts   (RIPPLE_QUALITY_SET, RIPPLE_QUALITY_LIMIT, RIPPLE_QUALITY_STRIDE, RIPPLE_BENCH_THREADS)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getLlama, resolveChatWrapper, type ChatHistoryItem, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { modelsDir } from "../src/config/paths.mjs";
import { expertWeight, loadInferencePolicy, type ExpertSpec } from "../src/config/inference-policy.ts";
import { createLogger } from "../src/log.ts";
import { extractShortAnswer } from "../src/moe/answer-text.ts";
import { isCorrect, loadQuestions, type QualityQuestion } from "../src/moe/labelled-set.ts";
import { openLocalExperts } from "../src/moe/local-expert-runner.ts";
import { reduce } from "../src/moe/reducer.ts";
import { confidenceFactor } from "../src/moe/vote-confidence.ts";
import { expertTask } from "../src/protocol/expert-task.ts";
import { ModelStore } from "../src/inference/model-store.ts";

const log = createLogger("cross-score", "warn");
const threads = Number(process.env.RIPPLE_BENCH_THREADS ?? 1);
const stride = Number(process.env.RIPPLE_QUALITY_STRIDE ?? 1);
const setFile = process.env.RIPPLE_QUALITY_SET ?? join(import.meta.dirname, "quality", "evaluation.jsonl");
const questions = loadQuestions(setFile)
  .filter((_, i) => i % stride === 0)
  .slice(0, Number(process.env.RIPPLE_QUALITY_LIMIT ?? Infinity));
const policy = loadInferencePolicy();
const experts = policy.local_tier.experts.filter((e) => e.kind === "model");
const runner = await openLocalExperts(policy, { threads, log });

// The scorer: one context per model file, its sequence kept between candidates of one prompt.
const store = await ModelStore.open({ dataDir: "/tmp/rm-cross-score", modelsDir: modelsDir(), log });
const llama = await getLlama({ gpu: false });
const scorers = new Map<string, { model: LlamaModel; seq: LlamaContextSequence }>();
async function scorer(name: string) {
  let s = scorers.get(name);
  if (!s) {
    const model = await llama.loadModel({ modelPath: store.get(name).file });
    const ctx = await model.createContext({ contextSize: 2048, sequences: 1, threads });
    s = { model, seq: ctx.getSequence() };
    scorers.set(name, s);
  }
  return s;
}

function promptTokens(model: LlamaModel, prompt: ReturnType<typeof expertTask>["prompt"]): Token[] {
  if (prompt.kind === "chat") {
    const history: ChatHistoryItem[] = prompt.messages.map((m) => (m.role === "system" ? { type: "system", text: m.content } : m.role === "user" ? { type: "user", text: m.content } : { type: "model", response: [m.content] }));
    history.push({ type: "model", response: [] });
    return resolveChatWrapper(model).generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer);
  }
  const bos = model.tokens.shouldPrependBosToken && model.tokens.bos != null;
  const t = model.tokenize(prompt.text, false, bos ? "trimLeadingSpace" : undefined);
  return bos ? [model.tokens.bos!, ...t] : t;
}

/** log P(tokens | prompt) summed, the sequence keeping the prompt between calls. */
async function logProb(s: { seq: LlamaContextSequence }, prompt: Token[], tokens: Token[]): Promise<number> {
  const head = prompt.slice(0, -1);
  await s.seq.adaptStateToTokens(head, false);
  if (s.seq.nextTokenIndex < head.length) await s.seq.evaluateWithoutGeneratingNewTokens(head.slice(s.seq.nextTokenIndex));
  const inputs = [prompt.at(-1)!, ...tokens.slice(0, -1)];
  const outs = await s.seq.controlledEvaluate(inputs.map((t, i) => [t, { generateNext: { logits: { filter: { tokens: [tokens[i]!], includeTop: 1 } }, totalLogitWeight: true } }]));
  let sum = 0;
  for (const [i, o] of outs.entries()) {
    const l = o!.next!.logits!;
    sum += l.get(tokens[i]!)! - Math.max(...l.values()) - Math.log(o!.next!.totalLogitWeight!);
  }
  return sum;
}

/** The candidate as written: its key's first case-preserving occurrence in a reply, else the key. */
function surfaceOf(key: string, texts: string[]): string {
  for (const t of texts) {
    const i = t.toLowerCase().indexOf(key);
    if (i >= 0) return t.slice(i, i + key.length);
  }
  return key;
}

interface Answer {
  expert: ExpertSpec;
  text: string;
  key: string;
  confidence: number;
}
type Rule = (q: QualityQuestion, answers: Answer[], scores: Map<string, Map<string, number>>) => string;
const w = (e: ExpertSpec, q: QualityQuestion) => expertWeight(e, q.task_type);
const argmax = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
const rules: Record<string, Rule> = {
  "vote, calibrated weights": (q, a) => reduce(a.map((x, slot) => ({ slot, expert: x.expert.name, weight: w(x.expert, q), text: x.text })), { answerKind: "short", minAgreement: policy.reducer.min_agreement, requireConsensus: false, conflictResolution: "highest_weight_wins" }).response,
  "vote, calibrated × confidence": (q, a) => reduce(a.map((x, slot) => ({ slot, expert: x.expert.name, weight: w(x.expert, q) * confidenceFactor(x.confidence), text: x.text })), { answerKind: "short", minAgreement: policy.reducer.min_agreement, requireConsensus: false, conflictResolution: "highest_weight_wins" }).response,
  "product of experts, calibrated": (q, a, s) => argmax(new Map([...s.keys()].map((k) => [k, a.reduce((t, x) => t + w(x.expert, q) * s.get(k)!.get(x.expert.name)!, 0)]))),
  "product of experts, equal": (_q, a, s) => argmax(new Map([...s.keys()].map((k) => [k, a.reduce((t, x) => t + s.get(k)!.get(x.expert.name)!, 0)]))),
  "soft vote, calibrated": (q, a, s) => {
    const total = new Map<string, number>([...s.keys()].map((k) => [k, 0]));
    for (const x of a) {
      const lp = [...s.keys()].map((k) => s.get(k)!.get(x.expert.name)!);
      const m = Math.max(...lp);
      const z = lp.reduce((t, v) => t + Math.exp(v - m), 0);
      [...s.keys()].forEach((k, i) => total.set(k, total.get(k)! + (w(x.expert, q) * Math.exp(lp[i]! - m)) / z));
    }
    return argmax(total);
  },
};

const correct = new Map(Object.keys(rules).map((r) => [r, 0]));
const bestExpert = new Map(experts.map((e) => [e.name, 0]));
let oracle = 0;
const rows: string[] = [];
const started = performance.now();
for (const [n, q] of questions.entries()) {
  const answers: Answer[] = [];
  for (const e of experts.filter((e) => e.specialization.includes(q.task_type))) {
    const r = await runner.answer(e, { question: q.question, task_type: q.task_type }, { confidence: true });
    answers.push({ expert: e, text: r.text, key: extractShortAnswer(r.text), confidence: r.confidence ?? 1 });
    if (isCorrect(q, r.text)) bestExpert.set(e.name, bestExpert.get(e.name)! + 1);
  }
  if (answers.some((a) => isCorrect(q, a.text))) oracle++;
  const keys = [...new Set(answers.map((a) => a.key).filter((k) => k !== ""))];
  const scores = new Map<string, Map<string, number>>(keys.map((k) => [k, new Map()]));
  for (const x of answers) {
    const s = await scorer(x.expert.model);
    const task = expertTask(policy, x.expert, { prompt: q.question, taskType: q.task_type });
    const prompt = promptTokens(s.model, task.prompt);
    const lead = /^\s/.test(x.text) ? " " : "";
    const end = task.prompt.kind === "chat" ? s.model.tokenize("<|im_end|>", true) : s.model.tokenize((task.stop ?? ["\n"])[0]!, false);
    for (const k of keys) {
      // Its own answer exactly as it wrote it; the others in its leading-space style.
      const surface = x.key === k ? x.text.replace(/\s+$/, "") : lead + surfaceOf(k, answers.filter((a) => a.key === k).map((a) => a.text));
      scores.get(k)!.set(x.expert.name, await logProb(s, prompt, [...s.model.tokenize(surface, false), ...end]));
    }
  }
  for (const [name, rule] of Object.entries(rules)) {
    const response = keys.length === 0 ? answers[0]?.text ?? "" : rule(q, answers, scores);
    if (isCorrect(q, response)) correct.set(name, correct.get(name)! + 1);
  }
  rows.push(JSON.stringify({ id: q.id, task_type: q.task_type, answers: answers.map((a) => ({ expert: a.expert.name, text: a.text, key: a.key, confidence: a.confidence, correct: isCorrect(q, a.text) })), scores: Object.fromEntries([...scores].map(([k, m]) => [k, Object.fromEntries(m)])) }));
  if ((n + 1) % 10 === 0) process.stderr.write(`  ${n + 1}/${questions.length}, ${((performance.now() - started) / 1000).toFixed(0)} s: ${[...correct].map(([r, c]) => `${r} ${c}`).join("; ")}\n`);
}
if (process.env.RIPPLE_QUALITY_ANSWERS) writeFileSync(process.env.RIPPLE_QUALITY_ANSWERS, `${rows.join("\n")}\n`);
const N = questions.length;
console.log(`\n${N} questions of ${setFile.split("/").pop()} (every ${stride}), ${((performance.now() - started) / 1000).toFixed(0)} s`);
for (const [e, c] of bestExpert) console.log(`expert ${e.padEnd(40)} ${c}/${N} ${((100 * c) / N).toFixed(1)} %`);
console.log(`oracle${" ".repeat(41)} ${oracle}/${N} ${((100 * oracle) / N).toFixed(1)} %`);
for (const [r, c] of correct) console.log(`${r.padEnd(47)} ${c}/${N} ${((100 * c) / N).toFixed(1)} %`);
await runner.dispose();
