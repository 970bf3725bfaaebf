// What the OpenAI- and Anthropic-compatible chat routes share: the MOE's one prompt made from a chat,
// the `ripple` extension each answer carries (who answered, the MOE's votes), the MOE's token count,
// and fastify's own request errors (body too large, bad JSON) as a status + error body.
import type { FastifyError } from "fastify";
import type { MoeResult } from "@ripple-mesh/api-types";
import type { ChatMessage } from "../inference/inference-types.ts";
import { failureOf, type ApiFailure } from "./api-reply.ts";
import { INFERENCE_BODY_LIMIT_BYTES, InvalidBodyError } from "./inference-schemas.ts";
import type { AskResult } from "./inference-source.ts";

/** The MOE takes one prompt: the last user message, with the messages before it prepended as context. */
export function moePromptOf(messages: ChatMessage[]): string {
  const last = messages.findLastIndex((m) => m.role === "user");
  if (last < 0) throw new InvalidBodyError("messages", "invalid request: the messages hold no user message", "add a message with role \"user\": its content is the MOE's prompt");
  const context = messages.slice(0, last).filter((m) => m.content.trim() !== "");
  const question = messages[last]!.content;
  if (context.length === 0) return question;
  return `${context.map((m) => `${m.role}: ${m.content}`).join("\n")}\n\n${question}`;
}

/** What the mesh generated for an MOE answer: every expert's tokens. (MoeResult has no prompt token count.) */
export function moeOutputTokens(r: MoeResult): number {
  return r.model_votes.reduce((n, v) => n + v.tokens, 0);
}

/** Input tokens are what the mesh read for the answer: every answering expert's prompt, its template applied. */
export function moeInputTokens(r: MoeResult): number {
  return r.model_votes.reduce((n, v) => n + v.prompt_tokens, 0);
}

export function moeExtension(r: MoeResult) {
  return {
    consensus_score: r.consensus_score,
    consensus_reached: r.consensus_reached,
    model_votes: r.model_votes,
    trace_id: r.trace_id,
    task_type: r.task_type,
    failed_slots: r.failed_slots,
    wall_ms: r.wall_ms,
  };
}

export function askExtension(r: AskResult) {
  return { peer: r.peer, trace_id: r.traceId, latency_ms: r.latencyMs };
}

/** A thrown error as a status + body, including fastify's own (body too large, bad JSON). */
export function requestFailure(err: FastifyError): ApiFailure {
  const status = err.statusCode ?? 0;
  if (status === 413) return { status, code: "body_too_large", message: `the request body is larger than ${INFERENCE_BODY_LIMIT_BYTES} bytes`, fix: "send a smaller body" };
  if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || (status === 400 && err instanceof SyntaxError)) {
    return { status: 400, code: "invalid_json", message: `the request body is not valid JSON: ${err.message}`, fix: "send a valid JSON body" };
  }
  if (status >= 400 && status < 500) return { status, code: "bad_request", message: err.message, fix: "correct the request" };
  return failureOf(err);
}

/** Runs `fn` the first time the returned function is called; later calls do nothing. */
export function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
