// Anthropic's Messages API, so any Anthropic client can use the mesh (baseURL http://127.0.0.1:PORT):
//   POST /v1/messages   model "ripple-moe" runs the MOE; any other model the mesh serves is asked directly.
//   POST /v1/messages/count_tokens   {input_tokens}: counted with the model's own tokenizer and chat
//                       template on this node (a model it holds; ripple-moe: one of its experts' models).
// Answers are Anthropic `message` objects (one text block; usage; stop_reason end_turn / max_tokens /
// stop_sequence) plus a `ripple` field (who answered; the MOE's votes). Streams follow Anthropic's
// event sequence: message_start, content_block_start, content_block_delta (text_delta) per token,
// content_block_stop, message_delta (stop_reason, usage), message_stop. The prompt's token count is
// known only once the answer is done: message_start says input_tokens 0, message_delta the real count.
// Errors have Anthropic's shape {type: "error", error: {type, message}} and status; an error after the
// stream began is an `event: error` (Anthropic's clients raise it). With ripple-moe the experts'
// sampling and stop strings come from the inference policy: temperature, top_p, top_k and
// stop_sequences apply to single models only.
import { randomBytes } from "node:crypto";
import type { FastifyError, FastifyInstance } from "fastify";
import type { Logger } from "../log.ts";
import type { MoeResult } from "@ripple-mesh/api-types";
import { failureOf, withTimeout, type ApiApp, type ApiFailure } from "./api-reply.ts";
import { countTokensBodySchema, countTokensShape, messagesBodySchema, messagesHints, messagesShape, toChatMessages, type MessagesBody } from "./anthropic-schemas.ts";
import { askExtension, moeExtension, moeInputTokens, moeOutputTokens, moePromptOf, once, requestFailure } from "./chat-compat.ts";
import { plainInference, startInferenceCall, streamInference } from "./inference-call.ts";
import { requireMeshModel, toMoeRequest } from "./inference-routes.ts";
import { INFERENCE_BODY_LIMIT_BYTES, parseBody } from "./inference-schemas.ts";
import { MOE_MODEL_ID, type AskRequest, type AskResult, type InferenceSource } from "./inference-source.ts";
import { SseWriter } from "./sse.ts";

export interface AnthropicRoutesOptions {
  inference: InferenceSource;
  log: Logger;
  inferenceTimeoutMs: number;
  sourceTimeoutMs: number;
  maxBufferedBytes?: number;
}

type StopReason = "end_turn" | "max_tokens" | "stop_sequence";
interface Usage {
  input_tokens: number;
  output_tokens: number;
}
interface Ending {
  stop_reason: StopReason;
  stop_sequence: string | null;
  usage: Usage;
  ripple: Record<string, unknown>;
}

/** Anthropic's error types by the status they are sent with. */
export type AnthropicErrorType = "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error" | "request_too_large" | "overloaded_error" | "timeout_error" | "api_error";

/** Registers the route in its own scope, whose error handler answers in Anthropic's error shape. */
export async function registerAnthropicRoutes(app: ApiApp, opts: AnthropicRoutesOptions): Promise<void> {
  await app.register(async (scope) => anthropicScope(scope, opts));
}

function anthropicScope(app: FastifyInstance, opts: AnthropicRoutesOptions): void {
  const { inference, log } = opts;
  const sseOptions = opts.maxBufferedBytes !== undefined ? { maxBufferedBytes: opts.maxBufferedBytes } : {};

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = anthropicError(requestFailure(err));
    if (e.status >= 500) log.warn({ err, path: req.url, type: e.body.error.type }, "Anthropic-compatible request failed");
    return reply.code(e.status).header("content-type", "application/json; charset=utf-8").send(JSON.stringify(e.body));
  });

  app.post("/v1/messages", { bodyLimit: INFERENCE_BODY_LIMIT_BYTES }, async (req, reply) => {
    const body = parseBody(messagesBodySchema, req.body, "messages", messagesHints, messagesShape);
    const id = `msg_${randomBytes(12).toString("hex")}`;
    const head = { id, type: "message", role: "assistant", model: body.model };
    const message = (text: string, ending: Ending) => ({ ...head, content: text === "" ? [] : [{ type: "text", text }], ...ending });

    const { what, run } = await generation(body, opts);
    const call = startInferenceCall(reply, opts.inferenceTimeoutMs, what);
    if (!body.stream) {
      return plainInference(reply, call, () => run(call.signal, () => {}, () => {}), (r) => message(r.text, r.ending));
    }
    const sse = new SseWriter(reply, sseOptions);
    const event = (type: string, data: Record<string, unknown>) => sse.event(type, { type, ...data });
    // message_start and the text block open the stream at the first sign of progress.
    const begin = once(() => {
      event("message_start", { message: { ...head, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } } });
      event("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
    });
    await streamInference(
      call,
      sse,
      () =>
        run(
          call.signal,
          (text) => {
            begin();
            event("content_block_delta", { index: 0, delta: { type: "text_delta", text } });
          },
          begin,
        ),
      ({ ending }) => {
        begin();
        event("content_block_stop", { index: 0 });
        event("message_delta", { delta: { stop_reason: ending.stop_reason, stop_sequence: ending.stop_sequence }, usage: ending.usage, ripple: ending.ripple });
        event("message_stop", {});
      },
      (err) => {
        const e = anthropicError(failureOf(err));
        if (e.status >= 500) log.warn({ err, type: e.body.error.type }, "streamed Anthropic message failed");
        sse.event("error", e.body);
      },
    );
  });

  // Counted with the model's own tokenizer and chat template, on this node (the model must be here).
  app.post("/v1/messages/count_tokens", { bodyLimit: INFERENCE_BODY_LIMIT_BYTES }, async (req, reply) => {
    const body = parseBody(countTokensBodySchema, req.body, "count_tokens", messagesHints, countTokensShape);
    const counted = await withTimeout(inference.countTokens({ model: body.model, messages: toChatMessages(body) }), opts.inferenceTimeoutMs, "token count");
    return reply.header("content-type", "application/json; charset=utf-8").send(JSON.stringify({ input_tokens: counted.inputTokens, ripple: { counted_with: counted.model } }));
  });
}

type Run = (signal: AbortSignal, onText: (text: string) => void, onProgress: () => void) => Promise<{ text: string; ending: Ending }>;

/** What answers the request: the MOE (model ripple-moe), or one model some node of the mesh serves (404 when none does). */
async function generation(body: MessagesBody, opts: AnthropicRoutesOptions): Promise<{ what: string; run: Run }> {
  const { inference } = opts;
  const messages = toChatMessages(body);
  if (body.model === MOE_MODEL_ID) {
    const moeReq = toMoeRequest({ prompt: moePromptOf(messages), max_tokens: body.max_tokens });
    return {
      what: "the MOE job",
      // The answer exists only after the reduce: progress events open the stream, the text comes at the end.
      run: async (signal, onText, onProgress) => {
        const r = await inference.moe(moeReq, { signal, onEvent: onProgress });
        if (r.response !== "") onText(r.response);
        return { text: r.response, ending: moeEnding(r) };
      },
    };
  }
  await requireMeshModel(inference, body.model, opts.sourceTimeoutMs);
  const askReq: AskRequest = {
    model: body.model,
    messages,
    maxTokens: body.max_tokens,
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(body.top_k !== undefined ? { topK: body.top_k } : {}),
    ...(body.stop_sequences?.length ? { stop: body.stop_sequences } : {}),
  };
  return {
    what: `asking ${body.model}`,
    run: async (signal, onText) => {
      const r = await inference.ask(askReq, { signal, onToken: onText });
      return { text: r.text, ending: askEnding(r) };
    },
  };
}

function askEnding(r: AskResult): Ending {
  const stop_reason: StopReason = r.finishReason === "length" ? "max_tokens" : r.stopSequence !== undefined ? "stop_sequence" : "end_turn";
  return {
    stop_reason,
    stop_sequence: stop_reason === "stop_sequence" ? r.stopSequence! : null,
    usage: { input_tokens: r.promptTokens, output_tokens: r.tokens },
    ripple: askExtension(r),
  };
}

/** Usage is what the mesh read and generated for the answer: every answering expert's prompt and tokens. */
function moeEnding(r: MoeResult): Ending {
  return { stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: moeInputTokens(r), output_tokens: moeOutputTokens(r) }, ripple: moeExtension(r) };
}

/** Our failure as Anthropic's status and error body; the message carries the fix (clients show only the message). */
export function anthropicError(f: ApiFailure): { status: number; body: { type: "error"; error: { type: AnthropicErrorType; message: string; details: { error_code: string } } } } {
  const [status, type] = anthropicStatus(f.status);
  return { status, body: { type: "error", error: { type, message: `${f.message}. Fix: ${f.fix}`, details: { error_code: f.code } } } };
}

function anthropicStatus(status: number): [number, AnthropicErrorType] {
  if (status === 400 || status === 422) return [400, "invalid_request_error"];
  if (status === 401) return [401, "authentication_error"];
  if (status === 403) return [403, "permission_error"];
  if (status === 404) return [404, "not_found_error"];
  if (status === 413) return [413, "request_too_large"];
  // The mesh is busy, has no node for the model, or is not ready yet: Anthropic's "overloaded" (clients retry it).
  if (status === 429 || status === 503) return [529, "overloaded_error"];
  if (status === 504) return [504, "timeout_error"];
  if (status >= 400 && status < 500) return [status, "invalid_request_error"];
  return [500, "api_error"];
}
