// A generation's prompt kept for the next of the same scope (GenerateRequest.promptReuseScope), on the
// tiny model through the real engine, one slot, both ways a slot's prompts are kept: a shared context
// of KEPT_PROMPT_SEQUENCES sequences (shared-context.ts, `batching: auto`) and a context per request
// (context-pool.ts, `batching: off`). The shared start is not evaluated again and the answer is what
// a fresh engine gives; another scope, no scope and an aborted generation never reuse it; token
// counts stay per request. The shared context keeps one prompt per template, least recently kept
// evicted first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEPT_PROMPT_SEQUENCES } from "../src/inference/batching.ts";
import type { BatchingPreference } from "@ripple-mesh/api-types";
import { InferenceEngine } from "../src/inference/inference-engine.ts";
import type { GenerateRequest } from "../src/inference/inference-types.ts";
import { complete, resolver, silent, tinyAs } from "./support/inference-fixtures.ts";

const header = "Answer the question. Q: What is red? A: a colour. Q: What is a cat? A: an animal. Q: ";
const ask = (question: string, extra: Partial<GenerateRequest> = {}) => complete("tiny", header + question + " A:", 16, extra);

const make = (batching: BatchingPreference) => InferenceEngine.create({ resolveModel: resolver([tinyAs("tiny")]), threads: 1, memoryBudgetBytes: 2 ** 30, maxConcurrent: 1, contextSize: 1024, batching, log: silent });

describe.each([
  { batching: "auto" as const, keeps: KEPT_PROMPT_SEQUENCES },
  { batching: "off" as const, keeps: 1 },
])("prompt reuse between generations of one scope (tiny model, one slot, batching $batching: $keeps prompt(s) kept)", ({ batching, keeps }) => {
  let engine: InferenceEngine, fresh: InferenceEngine;
  beforeAll(async () => {
    [engine, fresh] = [await make(batching), await make("off")];
  });
  afterAll(async () => {
    await engine?.dispose();
    await fresh?.dispose();
  });
  const counts = () => engine.loaded()[0]!.generationPromptTokens;

  it("evaluates only where the next prompt of the same scope differs, and answers as a fresh engine does", async () => {
    const first = await engine.generate(ask("What is blue?", { promptReuseScope: "alice" }));
    const before = counts();
    expect(before.reused).toBe(0);
    const second = await engine.generate(ask("What is a dog?", { promptReuseScope: "alice" }));
    const after = counts();
    const headerTokens = after.reused - before.reused;
    // Everything up to where the questions differ came from the kept sequence.
    expect(headerTokens).toBeGreaterThan(20);
    expect(after.evaluated - before.evaluated).toBe(second.promptTokens - headerTokens);
    const reference = await fresh.generate(ask("What is a dog?"));
    expect(second.text).toBe(reference.text);
    expect(second.tokens).toBe(reference.tokens);
    expect(second.promptTokens).toBe(reference.promptTokens);
    expect(first.tokens).toBeGreaterThan(0);
  });

  it("never reuses another scope's prompt, nor keeps one without a scope or after an abort", async () => {
    await engine.generate(ask("What is green?", { promptReuseScope: "alice" }));
    let before = counts();
    await engine.generate(ask("What is green?", { promptReuseScope: "bob" }));
    expect(counts().reused).toBe(before.reused);
    // Bob's own second prompt reuses Bob's.
    await engine.generate(ask("What is yellow?", { promptReuseScope: "bob" }));
    expect(counts().reused).toBeGreaterThan(before.reused);
    before = counts();
    await engine.generate(ask("What is yellow?"));
    expect(counts().reused).toBe(before.reused); // no scope: nothing reused
    await engine.generate(ask("What is yellow?", { promptReuseScope: "bob" }));
    // One context: the unscoped request disposed Bob's kept sequence; several sequences: it took a free one.
    if (keeps === 1) expect(counts().reused).toBe(before.reused);
    else expect(counts().reused).toBeGreaterThan(before.reused);
    const abort = new AbortController();
    let pieces = 0;
    const aborted = await engine.generate(complete("tiny", header + "Tell a long story", 400, { promptReuseScope: "carol", signal: abort.signal, onToken: () => void (++pieces === 2 && abort.abort()) }));
    expect(aborted.finishReason).toBe("aborted");
    before = counts();
    await engine.generate(ask("What is a tree?", { promptReuseScope: "carol" }));
    expect(counts().reused).toBe(before.reused);
  });

  it("keeps a scope's prompt when its next request is refused as too long for the context", async () => {
    await engine.generate(ask("What is rain?", { promptReuseScope: "erin" }));
    await expect(engine.generate(ask("What is snow?", { promptReuseScope: "erin", maxTokens: 5000 }))).rejects.toMatchObject({ code: "over_limit" });
    const before = counts();
    await engine.generate(ask("What is hail?", { promptReuseScope: "erin" }));
    expect(counts().reused - before.reused).toBeGreaterThan(20);
  });

  it("counts each request's own tokens on a reused sequence, and scores its confidence as a fresh engine does", async () => {
    await engine.generate(ask("What is salt?", { promptReuseScope: "dave" }));
    const reused = await engine.generate(ask("What is sugar?", { promptReuseScope: "dave", confidence: true }));
    const reference = await fresh.generate(ask("What is sugar?", { confidence: true }));
    expect(reused.tokens).toBe(reference.tokens);
    expect(reused.confidence).toBeCloseTo(reference.confidence!, 4);
  });
});

describe("a one-slot shared context keeps a prompt per template, least recently kept evicted first (tiny model)", () => {
  // Five templates, as an MOE worker's experts render a question, each differing from the first word.
  const templates = [
    "Answer the question. Q: What is red? A: a colour. Q: What is a cat? A: an animal. Q: ",
    "Reply in one word, as a dictionary would. Example: sky means the air above us. Word: ",
    "You are a careful teacher who explains each step of the reasoning before the answer. Question: ",
    "Translate the following sentence into plain simple English for a young reader, keeping its meaning: ",
    "Classify the topic of the text as science, history, art or sport, and say why in one line. Text: ",
  ];
  expect(templates.length).toBe(KEPT_PROMPT_SEQUENCES + 1);
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await make("auto");
  });
  afterAll(async () => {
    await engine?.dispose();
  });
  /** Prompt tokens the request found kept. */
  const reusedBy = async (template: number, question: string): Promise<number> => {
    const before = engine.loaded()[0]?.generationPromptTokens.reused ?? 0;
    await engine.generate(complete("tiny", templates[template]! + question, 8, { promptReuseScope: "alice" }));
    return engine.loaded()[0]!.generationPromptTokens.reused - before;
  };

  it("continues each template's kept prompt when the next question comes in the same templates", async () => {
    for (let t = 0; t < KEPT_PROMPT_SEQUENCES; t++) expect(await reusedBy(t, "What is a dog?")).toBe(0);
    // A context of one sequence would have lost every template's prompt to the next one.
    for (let t = 0; t < KEPT_PROMPT_SEQUENCES; t++) expect(await reusedBy(t, "Why is the sea salty?")).toBeGreaterThanOrEqual(16);
  });

  it("gives a new template the least recently kept sequence, and keeps the others", async () => {
    // Kept now, least recent first: templates 0, 1, 2, 3. Template 4 takes template 0's sequence.
    expect(await reusedBy(4, "What is a dog?")).toBe(0);
    expect(await reusedBy(1, "Where do birds sleep?")).toBeGreaterThanOrEqual(16);
    expect(await reusedBy(4, "Where do birds sleep?")).toBeGreaterThanOrEqual(16);
    expect(await reusedBy(0, "Where do birds sleep?")).toBe(0); // evicted: evaluated whole, taking template 2's
    expect(await reusedBy(3, "Where do birds sleep?")).toBeGreaterThanOrEqual(16);
    expect(await reusedBy(2, "Where do birds sleep?")).toBe(0);
  });

  it("keeps every kept prompt when a confidence check is too long for the context", async () => {
    // Kept now, least recent first: templates 4, 0, 3, 2. A check of a prompt over the context's 1024 tokens is not scored...
    expect(await engine.scoreAnswer("tiny", { kind: "completion", text: templates[1]! + "word ".repeat(1100) }, "an answer", { endedByLength: false })).toBeUndefined();
    // ...and took no kept prompt's place (not even the least recent one's).
    for (const t of [4, 0, 3, 2]) expect(await reusedBy(t, "Why is grass green?")).toBeGreaterThanOrEqual(16);
  });
});
