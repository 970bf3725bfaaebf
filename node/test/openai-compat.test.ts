// The OpenAI-compatible routes (/v1/models, /v1/chat/completions) driven by the official `openai`
// client against a fake InferenceSource that streams tokens: what an OpenAI user's code sees.
import { EventEmitter } from "node:events";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { MOE_MODEL_ID } from "../src/api/inference-source.ts";
import { startLocalApi, type LocalApi, type LocalApiOptions } from "../src/api/local-api.ts";
import { InferenceError } from "../src/inference/inference-errors.ts";
import { createLogger } from "../src/log.ts";
import { fakeInference, until, type FakeInference } from "./support/fake-inference.ts";

const log = createLogger("test", "silent");
const TOKEN = "0123456789abcdef0123456789abcdef";

const started: LocalApi[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.close()));
});

async function start(opts: Partial<LocalApiOptions> = {}, apiKey = "unused"): Promise<{ api: LocalApi; fake: FakeInference; openai: OpenAI }> {
  const fake = fakeInference();
  const api = await startLocalApi({ log, source: { status: async () => ({}), peers: async () => [], shutdown: async () => {}, events: new EventEmitter(), inference: fake }, ...opts });
  started.push(api);
  // No retries: a test must see the first answer (the client retries 429 and 5xx by default).
  return { api, fake, openai: new OpenAI({ baseURL: `${api.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 }) };
}

describe("GET /v1/models", () => {
  it("lists ripple-moe first, then every model the mesh serves", async () => {
    const { openai } = await start();
    const models = [];
    for await (const m of openai.models.list()) models.push(m);
    expect(models.map((m) => m.id)).toEqual([MOE_MODEL_ID, "tiny", "qwen"]);
    for (const m of models) {
      expect(m).toMatchObject({ object: "model", owned_by: "ripple-mesh" });
      expect(Math.abs(m.created - Date.now() / 1000)).toBeLessThan(60);
    }
  });
});

describe("POST /v1/chat/completions with a mesh model", () => {
  it("answers a chat.completion with the source's text, finish reason and usage", async () => {
    const { openai, fake } = await start();
    const c = await openai.chat.completions.create({
      model: "tiny",
      messages: [
        { role: "developer", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "say " }, { type: "text", text: "hello" }] },
      ],
      max_completion_tokens: 4,
      temperature: 0.7,
      top_p: 0.9,
      seed: 11,
      stop: "\n\n",
    });
    expect(fake.state.askCalls[0]!.req).toEqual({
      model: "tiny",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "say hello" },
      ],
      maxTokens: 4,
      temperature: 0.7,
      topP: 0.9,
      seed: 11,
      stop: ["\n\n"],
    });
    expect(c.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(c.object).toBe("chat.completion");
    expect(c.model).toBe("tiny");
    expect(c.choices).toHaveLength(1);
    expect(c.choices[0]!.message).toMatchObject({ role: "assistant", content: "Hello, mesh" });
    expect(c.choices[0]!.finish_reason).toBe("length");
    expect(c.usage).toEqual({ prompt_tokens: "be briefsay hello".length, completion_tokens: 4, total_tokens: "be briefsay hello".length + 4 });

    // An answer echoed back as the next turn's history is accepted.
    const next = await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }, c.choices[0]!.message, { role: "user", content: "more" }] });
    expect(next.choices[0]!.finish_reason).toBe("stop");
  });

  it("streams a role chunk, one content delta per token, a finish chunk, usage, then [DONE]", async () => {
    const { api, openai } = await start();
    const stream = await openai.chat.completions.create({ model: "qwen", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    const contents = chunks.slice(1).flatMap((c) => (c.choices[0]?.delta.content ? [c.choices[0].delta.content] : []));
    expect(contents).toEqual(["Hel", "lo", ", ", "mesh", "!"]);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish.map((c) => c.choices[0]!.finish_reason)).toEqual(["stop"]);
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ completion_tokens: 5 });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);

    // The wire format itself: `data: {json}` lines, ending with `data: [DONE]`.
    const res = await fetch(`${api.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "x" }], stream: true }) });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const lines = text.split("\n\n").filter(Boolean);
    expect(lines.every((l) => l.startsWith("data: "))).toBe(true);
    expect(lines.at(-1)).toBe("data: [DONE]");
    expect(lines).toHaveLength(1 + 5 + 1 + 1); // role, tokens, finish, [DONE]
  });

  it("aborts the source's generation when the client aborts mid-stream", async () => {
    const { openai, fake } = await start();
    fake.state.hold = true;
    const stream = await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }], stream: true });
    const seen: string[] = [];
    for await (const chunk of stream) {
      const t = chunk.choices[0]?.delta.content;
      if (t) {
        seen.push(t);
        stream.controller.abort();
      }
    }
    expect(seen).toEqual(["Hel"]);
    await until(() => fake.state.askCalls[0]!.signal.aborted, "the source's signal to abort");
    expect(fake.state.askCalls[0]!.signal.reason).toMatchObject({ code: "cancelled" });
  });

  it("maps errors to OpenAI's error shape: unknown model 404, bad field 400 with param, InferenceError status", async () => {
    const { openai, fake } = await start();
    const unknown = await openai.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown).toMatchObject({ status: 404, code: "model_not_found", type: "model_not_found" });
    expect((unknown as Error).message).toContain('no node of the mesh serves a model named "gpt-4"');
    expect((unknown as Error).message).toContain("use one of: tiny, qwen");

    const bad = await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 5000 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad).toMatchObject({ status: 400, code: "bad_request", param: "max_tokens" });
    expect((bad as Error).message).toContain("max_tokens must be a whole number from 1 to 2048");

    const tools = await openai.chat.completions
      .create({ model: "tiny", messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", function: { name: "f" } }] })
      .catch((e: unknown) => e);
    expect(tools).toMatchObject({ status: 400, param: "tools" });
    expect((tools as Error).message).toContain('unknown field "tools"');

    const n2 = await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }], n: 2 }).catch((e: unknown) => e);
    expect(n2).toMatchObject({ status: 400, param: "n" });

    fake.state.failWith = new InferenceError("busy", "every node serving tiny is busy", "retry shortly");
    const busy = await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(OpenAI.RateLimitError);
    expect(busy).toMatchObject({ status: 429, code: "busy" });
    expect((busy as Error).message).toContain("every node serving tiny is busy. Fix: retry shortly");

    // After the stream began, the error arrives as `data: {error}` and the client raises it.
    fake.state.failWith = new InferenceError("failed", "the peer died mid-answer", "retry");
    fake.state.failAfterTokens = 2;
    const stream = await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }], stream: true });
    const got: string[] = [];
    const midStream = await (async () => {
      for await (const c of stream) if (c.choices[0]?.delta.content) got.push(c.choices[0].delta.content);
    })().catch((e: unknown) => e);
    expect(got).toEqual(["Hel", "lo"]);
    expect(midStream).toBeInstanceOf(OpenAI.APIError);
    expect((midStream as Error).message).toContain("the peer died mid-answer");
  });

  it("uses the API token as the API key when the API requires one", async () => {
    const { openai, api } = await start({ token: TOKEN }, TOKEN);
    expect((await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "hi" }] })).choices[0]!.message.content).toBe("Hello, mesh!");
    const wrong = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: "unused", maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("POST /v1/chat/completions with ripple-moe", () => {
  it("runs the MOE on the last user message with earlier messages as context, and adds the `ripple` votes", async () => {
    const { openai, fake } = await start();
    const c = await openai.chat.completions.create({
      model: MOE_MODEL_ID,
      messages: [
        { role: "system", content: "You answer briefly." },
        { role: "user", content: "Let's talk about Italy." },
        { role: "assistant", content: "Sure." },
        { role: "user", content: "What is its capital?" },
      ],
      max_tokens: 32,
      // OpenAI clients pass extensions through as extra body fields.
      ...({ ripple: { experts: 4, task_type: "short_answer", trace_id: "t-42" } } as object),
    });
    expect(fake.state.moeCalls[0]!.req).toEqual({
      prompt: "system: You answer briefly.\nuser: Let's talk about Italy.\nassistant: Sure.\n\nWhat is its capital?",
      maxTokens: 32,
      experts: 4,
      taskType: "short_answer",
      traceId: "t-42",
    });
    expect(c.choices[0]!.message.content).toBe("answer to: What is its capital?");
    expect(c.choices[0]!.finish_reason).toBe("stop");
    const ripple = (c as unknown as { ripple: { consensus_score: number; model_votes: Array<{ agreed: boolean; peer: string }>; trace_id: string } }).ripple;
    expect(ripple.consensus_score).toBeCloseTo(0.75);
    expect(ripple.model_votes.map((v) => v.agreed)).toEqual([true, true, true, false]);
    expect(ripple.trace_id).toBe("t-42");
    expect(c.usage).toEqual({ prompt_tokens: 20 + 21 + 22 + 23, completion_tokens: 4 + 5 + 6 + 7, total_tokens: 86 + 22 });
  });

  it("streams the role at the first progress event, the answer after the reduce, then finish and [DONE]", async () => {
    const { openai } = await start();
    const stream = await openai.chat.completions.create({ model: MOE_MODEL_ID, messages: [{ role: "user", content: "2+2?" }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("answer to: 2+2?");
    const last = chunks.at(-1)! as unknown as { choices: Array<{ finish_reason: string }>; ripple: { consensus_score: number; trace_id: string } };
    expect(last.choices[0]!.finish_reason).toBe("stop");
    expect(last.ripple.trace_id).toBe("trace-fake-1");
    expect(last.ripple.consensus_score).toBeGreaterThan(0);
  });

  it("refuses a conversation without a user message, naming the fix", async () => {
    const { openai, fake } = await start();
    const err = await openai.chat.completions.create({ model: MOE_MODEL_ID, messages: [{ role: "system", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, param: "messages" });
    expect((err as Error).message).toContain("messages hold no user message");
    expect(fake.moe).not.toHaveBeenCalled();
  });
});
