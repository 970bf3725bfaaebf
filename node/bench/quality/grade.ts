// Grading for the answer-quality bench: a reply is right when it extracts to the same key as one of
// the question's accepted answers. Grading uses the reducer's own extractShortAnswer, so the bench
// measures exactly what the mesh would vote on.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { RippleError } from "../../src/errors.ts";
import { extractShortAnswer } from "../../src/moe/answer-text.ts";

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
  const parsed = questionSetSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) {
    throw new QuestionSetError(`${file} is not a valid question set: ${z.prettifyError(parsed.error)}`, "correct the entries named above");
  }
  return parsed.data;
}

/** Right when the reply's key, or its first line's key, is one of the accepted answers' keys. */
export function isCorrect(question: Pick<QualityQuestion, "answers">, replyText: string): boolean {
  const accepted = new Set(question.answers.map(extractShortAnswer).filter((k) => k !== ""));
  const firstLine = replyText.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  return [extractShortAnswer(replyText), extractShortAnswer(firstLine)].some((k) => k !== "" && accepted.has(k));
}
