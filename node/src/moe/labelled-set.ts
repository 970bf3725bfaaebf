// Labelled question sets (the quality bench's, and `ripple moe calibrate --set FILE`) and their
// grading: a reply is right when it extracts to the same key as one of the question's accepted
// answers. Grading uses the reducer's own extractShortAnswer, so it measures exactly what the mesh
// would vote on. A set is a JSON array or JSON lines (one question per line), at most 4 MiB.
import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { RippleError } from "../errors.ts";
import { extractShortAnswer } from "./answer-text.ts";

const MAX_SET_BYTES = 4 * 2 ** 20;

/** The short-answer task types of inference_policy.yaml; the bench only asks questions of these. */
export const shortTaskTypes = ["short_answer", "math", "classification"] as const;

export const qualityQuestionSchema = z.strictObject({
  id: z.string().regex(/^[a-z]+-\d{2,}$/, "ids look like kind-01"),
  kind: z.string().min(1),
  task_type: z.enum(shortTaskTypes),
  question: z.string().min(5).max(500),
  answers: z.array(z.string().min(1).max(100)).min(1).max(10),
});
export type QualityQuestion = z.infer<typeof qualityQuestionSchema>;

export const questionSetSchema = z.array(qualityQuestionSchema).superRefine((qs, ctx) => {
  const seen = new Set<string>();
  for (const [i, q] of qs.entries()) {
    if (seen.has(q.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate id ${q.id}` });
    seen.add(q.id);
  }
});

/** The question set could not be used. */
export class QuestionSetError extends RippleError {}

export function loadQuestions(file: string): QualityQuestion[] {
  let raw: unknown;
  try {
    const bytes = statSync(file).size;
    if (bytes > MAX_SET_BYTES) throw new Error(`it is ${bytes} bytes, over the limit of ${MAX_SET_BYTES}`);
    const text = readFileSync(file, "utf8");
    raw = text.trimStart().startsWith("[") ? JSON.parse(text) : text.split("\n").filter((l) => l.trim() !== "").map((l, i) => parseLine(l, i + 1));
  } catch (cause) {
    throw new QuestionSetError(`${file} cannot be read as a question set: ${(cause as Error).message}`, "give a JSON array or JSON lines of {id, kind, task_type, question, answers}", { cause });
  }
  const parsed = questionSetSchema.safeParse(raw);
  if (!parsed.success) {
    throw new QuestionSetError(`${file} is not a valid question set: ${z.prettifyError(parsed.error)}`, "correct the entries named above");
  }
  return parsed.data;
}

function parseLine(line: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch (cause) {
    throw new Error(`line ${n} is not JSON (${(cause as Error).message})`);
  }
}

/** Right when the reply's key, or its first line's key, is one of the accepted answers' keys. */
export function isCorrect(question: Pick<QualityQuestion, "answers">, replyText: string): boolean {
  const accepted = new Set(question.answers.map(extractShortAnswer).filter((k) => k !== ""));
  const firstLine = replyText.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  return [extractShortAnswer(replyText), extractShortAnswer(firstLine)].some((k) => k !== "" && accepted.has(k));
}
