// The answer-quality bench's question set is well formed and gradeable: every accepted answer has a
// vote key, and isCorrect takes the messy replies small models give.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../src/config/paths.mjs";
import { extractShortAnswer } from "../src/moe/answer-text.ts";
import { isCorrect, loadQuestions, questionSetSchema, shortTaskTypes } from "../src/moe/labelled-set.ts";

const questionsFile = join(repoRoot, "node", "bench", "quality", "questions.json");
const questions = loadQuestions(questionsFile);
const byId = (id: string) => questions.find((q) => q.id === id)!;

describe("quality question set", () => {
  it("has at least 100 questions over at least 5 kinds, ids unique", () => {
    expect(questions.length).toBeGreaterThanOrEqual(100);
    expect(new Set(questions.map((q) => q.kind)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(questions.map((q) => q.id)).size).toBe(questions.length);
    expect(new Set(questions.map((q) => q.question)).size).toBe(questions.length);
  });

  it("uses exactly the policy's short task types", () => {
    const policy = parse(readFileSync(join(repoRoot, "manifests", "distributed", "inference_policy.yaml"), "utf8"));
    const short = Object.entries(policy.task_types as Record<string, { answer: string }>)
      .filter(([, t]) => t.answer === "short")
      .map(([name]) => name);
    expect([...shortTaskTypes].sort()).toEqual(short.sort());
    expect(new Set(questions.map((q) => q.task_type))).toEqual(new Set(short));
  });

  it("every accepted answer extracts to a non-empty key", () => {
    for (const q of questions) {
      for (const a of q.answers) expect(extractShortAnswer(a), `${q.id}: ${a}`).not.toBe("");
    }
  });

  it("rejects a duplicate id and an unknown task type", () => {
    const q = { id: "cap-01", kind: "capital", task_type: "short_answer", question: "Capital of Peru?", answers: ["Lima"] };
    expect(questionSetSchema.safeParse([q, q]).error?.message).toMatch(/duplicate id cap-01/);
    expect(questionSetSchema.safeParse([{ ...q, task_type: "review" }]).success).toBe(false);
    expect(questionSetSchema.safeParse([{ ...q, answers: [] }]).success).toBe(false);
  });
});

describe("isCorrect", () => {
  it.each([
    ["cap-01", "Canberra", true],
    ["cap-01", "The capital of Australia is **Canberra**.", true],
    ["cap-01", "Sydney", false],
    ["cap-01", "Sydney is the largest city; the capital is Canberra.", false],
    ["cap-03", "Brasília", true],
    ["ari-01", "17 × 23 = 391", true],
    ["ari-01", "To multiply:\n17 * 23 = 391", true],
    ["ari-01", "The answer is 381.", false],
    ["unit-02", "3,000 grams", true],
    ["unit-02", "3000.0", true],
    ["count-02", "There are three r's in strawberry.", true],
    ["count-02", "2", false],
    ["yn-03", "No, 91 = 7 × 13.", true],
    ["yn-03", "Yes", false],
    ["sent-05", "Negative\n\nThe review complains that it broke.", true],
    ["geo-01", "The Pacific Ocean", true],
    ["hist-05", "George Washington was the first president.", true],
    ["code-05", "'ABC'", true],
    ["code-09", "False", true],
    ["code-09", "True", false],
    ["geo-06", "", false],
  ])("%s: %j → %s", (id, reply, expected) => {
    expect(isCorrect(byId(id), reply)).toBe(expected);
  });
});
