// The Anthropic Messages route (POST /v1/messages) driven by the official `@anthropic-ai/sdk` client
// against the fake InferenceSource the OpenAI-compatibility test uses (it streams tokens, records each
// call with its AbortSignal, honours stop strings): what an Anthropic user's code sees.
import { EventEmitter } from "node:events";
import Anthropic from "@anthropic-ai/sdk";
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

async function start(opts: Partial<LocalApiOptions> = {}, apiKey = "unused"): Promise<{ api: LocalApi; fake: FakeInference; client: Anthropic }> {
  const fake = fakeInference();
  const api = await startLocalApi({ log, source: { status: async () => ({}), peers: async () => [], shutdown: async () => {}, events: new EventEmitter(), inference: fake }, ...opts });
  started.push(api);
  // No retries: a test must see the first answer (the client retries 429, 529 and 5xx by default).
  return { api, fake, client: new Anthropic({ baseURL: api.url, apiKey, maxRetries: 0, timeout: 10_000 }) };
}

type ApiError = InstanceType<typeof Anthropic.APIError>;

const hi = [{ role: "user" as const, content: "hi" }];

async function caught(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(Anthropic.APIError);
  return err as ApiError;
}

describe("POST /v1/messages with a mesh model", () => {
  it("answers a message with the source's text, stop reason and usage; system, sampling and stop sequences reach the source", async () => {
    const { client, fake } = await start();
    const m = await client.messages.create({
      model: "tiny",
      system: [{ type: "text", text: "be " }, { type: "text", text: "brief" }],
      messages: [
        { role: "user", content: "say hi" },
        { role: "assistant", content: [{ type: "text", text: "ok" }] },
        { role: "user", content: [{ type: "text", text: "say " }, { type: "text", text: "hello" }] },
      ],
      max_tokens: 4,
      metadata: { user_id: "someone" },
      // The Messages API takes them; this SDK's types no longer list them, and it sends them as given.
      ...({ temperature: 0.5, top_p: 0.9, top_k: 40 } as object),
    });
    expect(fake.state.askCalls[0]!.req).toEqual({
      model: "tiny",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "say hi" },
        { role: "assistant", content: "ok" },
        { role: "user", content: "say hello" },
      ],
      maxTokens: 4,
      temperature: 0.5,
      topP: 0.9,
      topK: 40,
    });
    expect(m.id).toMatch(/^msg_[0-9a-f]{24}$/);
    expect(m).toMatchObject({ type: "message", role: "assistant", model: "tiny", stop_reason: "max_tokens", stop_sequence: null });
    expect(m.content).toEqual([{ type: "text", text: "Hello, mesh" }]);
    expect(m.usage).toEqual({ input_tokens: "be briefsay hioksay hello".length, output_tokens: 4 });
    expect((m as unknown as { ripple: { peer: string; trace_id: string } }).ripple).toMatchObject({ peer: "node-0", trace_id: "trace-ask-1" });

    const all = await client.messages.create({ model: "tiny", system: "be brief", messages: hi, max_tokens: 100 });
    expect(all.content).toEqual([{ type: "text", text: "Hello, mesh!" }]);
    expect(all).toMatchObject({ stop_reason: "end_turn", stop_sequence: null, usage: { output_tokens: 5 } });
    expect(fake.state.askCalls[1]!.req.messages[0]).toEqual({ role: "system", content: "be brief" });

    const stopped = await client.messages.create({ model: "tiny", messages: hi, max_tokens: 100, stop_sequences: ["\n\nHuman:", ", "] });
    expect(fake.state.askCalls[2]!.req.stop).toEqual(["\n\nHuman:", ", "]);
    expect(stopped.content).toEqual([{ type: "text", text: "Hello" }]);
    expect(stopped).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: ", ", usage: { output_tokens: 2 } });

    // An answer echoed back as the next turn's history is accepted.
    const next = await client.messages.create({ model: "tiny", messages: [...hi, { role: "assistant", content: all.content }, { role: "user", content: "more" }], max_tokens: 8 });
    expect(next.stop_reason).toBe("end_turn");
  });

  it("streams Anthropic's event sequence, one text_delta per token, and the SDK assembles the message", async () => {
    const { api, client } = await start();
    const stream = client.messages.stream({ model: "qwen", system: "be brief", messages: hi, max_tokens: 64, stop_sequences: ["!"] });
    const texts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts).toEqual(["Hel", "lo", ", ", "mesh"]);
    expect(final.content).toEqual([{ type: "text", text: "Hello, mesh" }]);
    expect(final).toMatchObject({ role: "assistant", model: "qwen", stop_reason: "stop_sequence", stop_sequence: "!" });
    // input_tokens is known only at the end: message_delta carries it.
    expect(final.usage).toMatchObject({ input_tokens: "be briefhi".length, output_tokens: 4 });

    const raw = await client.messages.create({ model: "tiny", messages: hi, max_tokens: 64, stream: true });
    const types: string[] = [];
    for await (const e of raw) types.push(e.type);
    expect(types).toEqual(["message_start", "content_block_start", ...Array(5).fill("content_block_delta"), "content_block_stop", "message_delta", "message_stop"]);

    // The wire format: `event: NAME` + `data: {"type": NAME, …}`.
    const res = await fetch(`${api.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tiny", messages: hi, max_tokens: 2, stream: true }) });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = (await res.text()).split("\n\n").filter(Boolean);
    const parsed = frames.map((f) => {
      const [eventLine, dataLine] = f.split("\n");
      return { event: eventLine!.replace(/^event: /, ""), data: JSON.parse(dataLine!.replace(/^data: /, "")) as { type: string; delta?: { stop_reason?: string }; usage?: unknown } };
    });
    expect(parsed.every((p) => p.event === p.data.type)).toBe(true);
    const delta = parsed.find((p) => p.event === "message_delta")!.data;
    expect(delta.delta?.stop_reason).toBe("max_tokens");
    expect(delta.usage).toEqual({ input_tokens: 2, output_tokens: 2 });
  });

  it("aborts the source's generation when the client aborts mid-stream", async () => {
    const { client, fake } = await start();
    fake.state.hold = true;
    const stream = client.messages.stream({ model: "tiny", messages: hi, max_tokens: 64 });
    const seen: string[] = [];
    stream.on("text", (t) => {
      seen.push(t);
      stream.abort();
    });
    const ended = await stream.done().then(
      () => "done",
      (e: unknown) => e,
    );
    expect(ended).toBeInstanceOf(Anthropic.APIUserAbortError);
    expect(seen).toEqual(["Hel"]);
    await until(() => fake.state.askCalls[0]!.signal.aborted, "the source's signal to abort");
    expect(fake.state.askCalls[0]!.signal.reason).toMatchObject({ code: "cancelled" });
  });

  it("answers errors in Anthropic's shape, which the SDK raises as its typed errors", async () => {
    const { api, client, fake } = await start();
    const role = await caught(client.messages.create({ model: "tiny", messages: [{ role: "system" as "user", content: "hi" }], max_tokens: 8 }));
    expect(role).toBeInstanceOf(Anthropic.BadRequestError);
    expect(role).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect(role.message).toContain('messages[0].role must be "user" or "assistant"');
    expect(role.message).toContain('Fix: send 1 to 64 messages {"role": "user"|"assistant"');

    const missing = await caught(client.messages.create({ model: "tiny", messages: hi } as unknown as Anthropic.MessageCreateParamsNonStreaming));
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect(missing.message).toContain("max_tokens is missing: the Messages API requires it");
    expect(missing.message).toContain('Fix: set "max_tokens" to a whole number from 1 to 2048');

    const unknown = await caught(client.messages.create({ model: "claude-opus-4", messages: hi, max_tokens: 8 }));
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(unknown).toMatchObject({ status: 404, type: "not_found_error" });
    expect(unknown.message).toContain('no node of the mesh serves a model named "claude-opus-4"');
    expect(unknown.message).toContain("use one of: tiny, qwen");

    const image = await caught(
      client.messages.create({
        model: "tiny",
        max_tokens: 8,
        messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] }],
      }),
    );
    expect(image).toBeInstanceOf(Anthropic.BadRequestError);
    expect(image.message).toContain('messages[0].content[1].type must be "text": ripple-mesh models read text only');

    const tools = await caught(client.messages.create({ model: "tiny", messages: hi, max_tokens: 8, tools: [{ name: "f", input_schema: { type: "object" } }] }));
    expect(tools.message).toContain('unknown field "tools"');
    expect(fake.ask).not.toHaveBeenCalled();

    const json = await fetch(`${api.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining("not valid JSON") } });

    fake.state.failWith = new InferenceError("busy", "every node serving tiny is busy", "retry shortly");
    const busy = await caught(client.messages.create({ model: "tiny", messages: hi, max_tokens: 8 }));
    expect(busy).toBeInstanceOf(Anthropic.OverloadedError);
    expect(busy).toMatchObject({ status: 529, type: "overloaded_error" });
    expect(busy.message).toContain("every node serving tiny is busy. Fix: retry shortly");

    // After the stream began, the error arrives as `event: error` and the SDK raises it.
    fake.state.failWith = new InferenceError("failed", "the peer died mid-answer", "retry");
    fake.state.failAfterTokens = 2;
    const stream = await client.messages.create({ model: "tiny", messages: hi, max_tokens: 8, stream: true });
    const got: string[] = [];
    const midStream = await caught(
      (async () => {
        for await (const e of stream) if (e.type === "content_block_delta" && e.delta.type === "text_delta") got.push(e.delta.text);
      })(),
    );
    expect(got).toEqual(["Hel", "lo"]);
    expect(midStream).toMatchObject({ type: "api_error" });
    expect(midStream.message).toContain("the peer died mid-answer");
  });

  it("takes the API token as the API key (x-api-key) when the API requires one", async () => {
    const { client, api } = await start({ token: TOKEN }, TOKEN);
    const m = await client.messages.create({ model: "tiny", messages: hi, max_tokens: 8 });
    expect(m.content).toEqual([{ type: "text", text: "Hello, mesh!" }]);
    const wrong = new Anthropic({ baseURL: api.url, apiKey: "unused", maxRetries: 0 });
    await expect(wrong.messages.create({ model: "tiny", messages: hi, max_tokens: 8 })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });
});

describe("POST /v1/messages with ripple-moe", () => {
  it("runs the MOE on the last user message with the system prompt and earlier turns as context", async () => {
    const { client, fake } = await start();
    const m = await client.messages.create({
      model: MOE_MODEL_ID,
      system: "You answer briefly.",
      messages: [
        { role: "user", content: "Let's talk about Italy." },
        { role: "assistant", content: "Sure." },
        { role: "user", content: "What is its capital?" },
      ],
      max_tokens: 32,
    });
    expect(fake.state.moeCalls[0]!.req).toEqual({
      prompt: "system: You answer briefly.\nuser: Let's talk about Italy.\nassistant: Sure.\n\nWhat is its capital?",
      maxTokens: 32,
    });
    expect(m.content).toEqual([{ type: "text", text: "answer to: What is its capital?" }]);
    // Usage is every answering expert's prompt and output (the fake reports 20 + slot prompt tokens).
    expect(m).toMatchObject({ stop_reason: "end_turn", usage: { input_tokens: 20 + 21 + 22, output_tokens: 4 + 5 + 6 } });
    const ripple = (m as unknown as { ripple: { consensus_score: number; model_votes: unknown[]; trace_id: string } }).ripple;
    expect(ripple.consensus_score).toBeCloseTo(2 / 3);
    expect(ripple.model_votes).toHaveLength(3);
  });

  it("streams the answer after the reduce", async () => {
    const { client } = await start();
    const stream = client.messages.stream({ model: MOE_MODEL_ID, messages: [{ role: "user", content: "2+2?" }], max_tokens: 16 });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: "text", text: "answer to: 2+2?" }]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBe(4 + 5 + 6);
  });

  it("refuses a conversation without a user message, naming the fix", async () => {
    const { client, fake } = await start();
    const err = await caught(client.messages.create({ model: MOE_MODEL_ID, messages: [{ role: "assistant", content: "hello" }], max_tokens: 8 }));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.message).toContain("the messages hold no user message");
    expect(fake.moe).not.toHaveBeenCalled();
  });
});

describe("POST /v1/messages/count_tokens through the SDK's messages.countTokens", () => {
  it("passes the system prompt and messages to the source and answers {input_tokens}", async () => {
    const { client, fake } = await start();
    const counted = await client.messages.countTokens({ model: "tiny", system: "Be terse.", messages: [{ role: "user", content: [{ type: "text", text: "two words" }] }] });
    expect(counted.input_tokens).toBe(4 + 2 + 4 + 2);
    expect(fake.countTokens).toHaveBeenCalledWith({ model: "tiny", messages: [{ role: "system", content: "Be terse." }, { role: "user", content: "two words" }] });
  });

  it("refuses what it cannot count in Anthropic's shape: a model not on this node, max_tokens-only fields, other blocks", async () => {
    const { client } = await start();
    const absent = await caught(client.messages.countTokens({ model: "claude-opus-4", messages: hi }));
    expect(absent).toBeInstanceOf(Anthropic.NotFoundError);
    expect(absent.message).toContain('model "claude-opus-4" is not on this node');
    const extra = await caught(client.messages.countTokens({ model: "tiny", messages: hi, max_tokens: 8 } as unknown as Anthropic.MessageCountTokensParams));
    expect(extra).toBeInstanceOf(Anthropic.BadRequestError);
    expect(extra.message).toMatch(/max_tokens/);
    const image = await caught(client.messages.countTokens({ model: "tiny", messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "AA==" } }] }] }));
    expect(image).toBeInstanceOf(Anthropic.BadRequestError);
    expect(image.message).toContain("ripple-mesh models read text only");
  });
});
