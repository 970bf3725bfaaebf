// OpenAI-compatible routes, so any OpenAI client can use the mesh (baseURL http://127.0.0.1:PORT/v1):
//   GET  /v1/models             {object: "list", data: [ripple-moe, every model the mesh serves]}; each model's
//                               `ripple` field has its sha256, sha256_variants (see MeshModel), nodes and local
//   POST /v1/chat/completions   model "ripple-moe" runs the MOE; any other model is asked directly.
// Errors here have OpenAI's shape {error: {message, type, code, param}} (type = our error code).
// Streams are `data: {chat.completion.chunk}` lines ending with `data: [DONE]`; an error after the
// stream began is sent as `data: {error: …}` (OpenAI's clients raise it).
import { randomBytes } from "node:crypto";
import type { FastifyError, FastifyInstance } from "fastify";
import type { Logger } from "../log.ts";
import type { MoeResult } from "@ripple-mesh/api-types";
import { failureOf, withTimeout, type ApiApp, type ApiFailure } from "./api-reply.ts";
import { askExtension, moeExtension, moeInputTokens, moeOutputTokens, moePromptOf, once, requestFailure } from "./chat-compat.ts";
import { plainInference, startInferenceCall, streamInference } from "./inference-call.ts";
import { requireMeshModel, toMoeRequest } from "./inference-routes.ts";
import { INFERENCE_BODY_LIMIT_BYTES, InvalidBodyError, parseBody } from "./inference-schemas.ts";
import { MOE_MODEL_ID, type AskRequest, type AskResult, type InferenceSource } from "./inference-source.ts";
import { chatCompletionBodySchema, chatHints, chatShape, toChatMessages } from "./openai-schemas.ts";
import { SseWriter } from "./sse.ts";

export interface OpenAiRoutesOptions {
  inference: InferenceSource;
  log: Logger;
  inferenceTimeoutMs: number;
  sourceTimeoutMs: number;
  maxBufferedBytes?: number;
}

type FinishReason = "stop" | "length";
interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Registers the routes in their own scope, whose error handler answers in OpenAI's error shape. */
export async function registerOpenAiRoutes(app: ApiApp, opts: OpenAiRoutesOptions): Promise<void> {
  await app.register(async (scope) => openAiScope(scope, opts));
}

function openAiScope(app: FastifyInstance, opts: OpenAiRoutesOptions): void {
  const { inference, log } = opts;
  const listedSince = Math.floor(Date.now() / 1000);
  const sseOptions = opts.maxBufferedBytes !== undefined ? { maxBufferedBytes: opts.maxBufferedBytes } : {};

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const f = requestFailure(err);
    if (f.status >= 500 && f.status !== 503) log.warn({ err, path: req.url, code: f.code }, "OpenAI-compatible request failed");
    return reply.code(f.status).header("content-type", "application/json; charset=utf-8").send(JSON.stringify(openAiError(f, err)));
  });

  app.get("/v1/models", async () => {
    const mesh = await withTimeout(inference.meshModels(), opts.sourceTimeoutMs, "list of mesh models");
    const model = (id: string) => ({ id, object: "model" as const, created: listedSince, owned_by: "ripple-mesh" });
    return {
      object: "list",
      data: [
        { ...model(MOE_MODEL_ID), ripple: { moe: true } },
        ...mesh.filter((m) => m.name !== MOE_MODEL_ID).map((m) => ({ ...model(m.name), ripple: { sha256: m.sha256, sha256_variants: m.sha256Variants, nodes: m.nodes, local: m.local } })),
      ],
    };
  });

  app.post("/v1/chat/completions", { bodyLimit: INFERENCE_BODY_LIMIT_BYTES }, async (req, reply) => {
    const body = parseBody(chatCompletionBodySchema, req.body, "chat completion", chatHints, chatShape);
    const messages = toChatMessages(body.messages);
    const id = `chatcmpl-${randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
    const chunk = (delta: Record<string, unknown>, finish: FinishReason | null, extra: Record<string, unknown> = {}) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra,
    });

    if (body.model === MOE_MODEL_ID) {
      const moeReq = toMoeRequest({ prompt: moePromptOf(messages), ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}), ...body.ripple });
      const call = startInferenceCall(reply, opts.inferenceTimeoutMs, "the MOE job");
      if (!body.stream) {
        return plainInference(reply, call, () => inference.moe(moeReq, { signal: call.signal }), (r) =>
          completion(id, created, body.model, r.response, "stop", moeUsage(r), { ripple: moeExtension(r) }),
        );
      }
      const sse = new SseWriter(reply, sseOptions);
      // The role chunk opens the stream, at the first sign of progress.
      const begin = once(() => sse.event(undefined, chunk({ role: "assistant", content: "" }, null)));
      await streamInference(
        call,
        sse,
        // The answer exists only after the reduce; the first progress event opens the stream.
        () => inference.moe(moeReq, { signal: call.signal, onEvent: begin }),
        (r) => {
          begin();
          if (r.response !== "") sse.event(undefined, chunk({ content: r.response }, null));
          sse.event(undefined, chunk({}, "stop", { ripple: moeExtension(r) }));
          if (body.stream_options?.include_usage) sse.event(undefined, { ...chunk({}, null), choices: [], usage: moeUsage(r) });
          sse.rawData("[DONE]");
        },
        streamError(sse, log),
      );
      return;
    }

    await requireMeshModel(inference, body.model, opts.sourceTimeoutMs);
    const askReq: AskRequest = {
      model: body.model,
      messages,
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(body.temperature != null ? { temperature: body.temperature } : {}),
      ...(body.top_p != null ? { topP: body.top_p } : {}),
      ...(body.seed != null ? { seed: body.seed } : {}),
      ...(body.stop != null ? { stop: typeof body.stop === "string" ? [body.stop] : body.stop } : {}),
    };
    const call = startInferenceCall(reply, opts.inferenceTimeoutMs, `asking ${body.model}`);
    if (!body.stream) {
      return plainInference(reply, call, () => inference.ask(askReq, { signal: call.signal }), (r) =>
        completion(id, created, body.model, r.text, finishOf(r), askUsage(r), { ripple: askExtension(r) }),
      );
    }
    const sse = new SseWriter(reply, sseOptions);
    const begin = once(() => sse.event(undefined, chunk({ role: "assistant", content: "" }, null)));
    await streamInference(
      call,
      sse,
      () =>
        inference.ask(askReq, {
          signal: call.signal,
          onToken: (text) => {
            begin();
            sse.event(undefined, chunk({ content: text }, null));
          },
        }),
      (r) => {
        begin();
        sse.event(undefined, chunk({}, finishOf(r), { ripple: askExtension(r) }));
        if (body.stream_options?.include_usage) sse.event(undefined, { ...chunk({}, null), choices: [], usage: askUsage(r) });
        sse.rawData("[DONE]");
      },
      streamError(sse, log),
    );
  });
}

function completion(id: string, created: number, model: string, content: string, finish: FinishReason, usage: Usage, extra: Record<string, unknown>) {
  return {
    id,
    object: "chat.completion",
    created,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: finish }],
    usage,
    ...extra,
  };
}

const finishOf = (r: AskResult): FinishReason => (r.finishReason === "length" ? "length" : "stop");

function askUsage(r: AskResult): Usage {
  return { prompt_tokens: r.promptTokens, completion_tokens: r.tokens, total_tokens: r.promptTokens + r.tokens };
}

/** Usage is what the mesh read and generated for the answer: every answering expert's prompt and tokens. */
function moeUsage(r: MoeResult): Usage {
  const [prompt, completion] = [moeInputTokens(r), moeOutputTokens(r)];
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function streamError(sse: SseWriter, log: Logger) {
  return (err: unknown): void => {
    const f = failureOf(err);
    if (f.status >= 500 && f.status !== 503) log.warn({ err, code: f.code }, "streamed chat completion failed");
    sse.event(undefined, openAiError(f, err));
  };
}

function openAiError(f: ApiFailure, err: unknown) {
  return {
    error: {
      // OpenAI clients show only `message`: it carries the fix too.
      message: `${f.message}. Fix: ${f.fix}`,
      type: f.code,
      code: f.code,
      param: err instanceof InvalidBodyError ? (err.param ?? null) : null,
      fix: f.fix,
    },
  };
}
