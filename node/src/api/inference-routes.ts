// The local API's own inference routes (the `ripple` CLI uses them; errors have the API's usual
// `{error: {code, message, fix}}` body, InferenceErrors with their own status):
//   POST /v1/moe                    {prompt, task_type?, experts?, max_tokens?, require_consensus?, trace_id?} → MoeResult
//   POST /v1/ask                    {model, prompt | messages, max_tokens?, temperature?, seed?} → AskResult
//   GET  /v1/models/local           LocalModel[]
//   POST /v1/models/:name/load      LocalModel
//   POST /v1/models/:name/unload    LocalModel
//   POST /v1/models/rescan          ModelsRescan (after `ripple models add|rm` changed models.json)
// /v1/moe and /v1/ask stream with `?stream=1` or `Accept: text/event-stream`: progress events
// (`event: moe:assigned` …, or `event: token` {text}), then `event: result` with the JSON answer, or
// `event: error` with the error body. A client that disconnects aborts the source call.
import type { Logger } from "../log.ts";
import { InferenceError } from "../inference/inference-errors.ts";
import type { MoeRequest } from "@ripple-mesh/api-types";
import { failureOf, sendJson, withTimeout, type ApiApp } from "./api-reply.ts";
import { plainInference, startInferenceCall, streamInference, wantsEventStream } from "./inference-call.ts";
import {
  askBodySchema,
  askHints,
  askShape,
  INFERENCE_BODY_LIMIT_BYTES,
  InvalidBodyError,
  modelName,
  moeBodySchema,
  moeHints,
  moeShape,
  parseBody,
  type AskBody,
  type MoeBody,
} from "./inference-schemas.ts";
import type { AskRequest, InferenceSource } from "./inference-source.ts";
import { SseWriter } from "./sse.ts";

export interface InferenceRoutesOptions {
  inference: InferenceSource;
  log: Logger;
  /** How long one MOE job or ask may take before it is aborted (504). */
  inferenceTimeoutMs: number;
  /** How long listing models may take. */
  sourceTimeoutMs: number;
  /** How long loading a model may take. */
  modelLoadTimeoutMs: number;
  /** A streaming client with more than this queued is cut off. */
  maxBufferedBytes?: number;
}

export const inferenceRouteList = "POST /v1/moe, POST /v1/ask, GET /v1/models/local, POST /v1/models/:name/load, POST /v1/models/:name/unload, POST /v1/models/rescan, GET /v1/models, POST /v1/chat/completions, POST /v1/messages";

export function toMoeRequest(b: Pick<MoeBody, "task_type" | "experts" | "max_tokens" | "require_consensus" | "trace_id" | "open" | "quorum"> & { prompt: string }): MoeRequest {
  return {
    prompt: b.prompt,
    ...(b.task_type !== undefined ? { taskType: b.task_type } : {}),
    ...(b.experts !== undefined ? { experts: b.experts } : {}),
    ...(b.max_tokens !== undefined ? { maxTokens: b.max_tokens } : {}),
    ...(b.require_consensus !== undefined ? { requireConsensus: b.require_consensus } : {}),
    ...(b.trace_id !== undefined ? { traceId: b.trace_id } : {}),
    ...(b.open !== undefined ? { open: b.open } : {}),
    ...(b.quorum !== undefined ? { quorum: b.quorum } : {}),
  };
}

export function toAskRequest(b: AskBody): AskRequest {
  return {
    model: b.model,
    messages: b.messages ?? [{ role: "user", content: b.prompt! }],
    ...(b.max_tokens !== undefined ? { maxTokens: b.max_tokens } : {}),
    ...(b.temperature !== undefined ? { temperature: b.temperature } : {}),
    ...(b.seed !== undefined ? { seed: b.seed } : {}),
    ...(b.peer !== undefined ? { peer: b.peer } : {}),
  };
}

/** Throws model_not_found (404) unless some node of the mesh serves `model`. */
export async function requireMeshModel(inference: InferenceSource, model: string, timeoutMs: number): Promise<void> {
  const models = await withTimeout(inference.meshModels(), timeoutMs, "list of mesh models");
  if (models.some((m) => m.name === model)) return;
  const names = models.map((m) => m.name);
  throw new InferenceError(
    "model_not_found",
    `no node of the mesh serves a model named "${model}"`,
    names.length ? `use one of: ${names.join(", ")} (GET /v1/models lists them)` : "no model is served yet: add one with `ripple models add <file.gguf>` and restart the node",
  );
}

export function parseModelParam(params: unknown): string {
  const parsed = modelName.safeParse((params as { name?: unknown }).name);
  if (!parsed.success) throw new InvalidBodyError("name", `invalid model name in the path: ${parsed.error.issues[0]?.message}`, "use a registered model's name (GET /v1/models/local lists them)");
  return parsed.data;
}

export function registerInferenceRoutes(app: ApiApp, opts: InferenceRoutesOptions): void {
  const { inference, log } = opts;
  const sseOptions = opts.maxBufferedBytes !== undefined ? { maxBufferedBytes: opts.maxBufferedBytes } : {};
  const logFailure = (err: unknown, what: string): void => {
    const f = failureOf(err);
    if (f.status >= 500 && f.status !== 503) log.warn({ err, code: f.code }, `${what} failed`);
  };
  const errorEvent = (sse: SseWriter, what: string) => (err: unknown) => {
    logFailure(err, what);
    const { code, message, fix } = failureOf(err);
    sse.event("error", { error: { code, message, fix } });
  };

  app.post("/v1/moe", { bodyLimit: INFERENCE_BODY_LIMIT_BYTES }, async (req, reply) => {
    const moeReq = toMoeRequest(parseBody(moeBodySchema, req.body, "moe", moeHints, moeShape));
    const call = startInferenceCall(reply, opts.inferenceTimeoutMs, "the MOE job");
    if (!wantsEventStream(req.url, req.headers.accept)) {
      return plainInference(reply, call, () => inference.moe(moeReq, { signal: call.signal }), (r) => sendJson(reply, r));
    }
    const sse = new SseWriter(reply, sseOptions);
    await streamInference(
      call,
      sse,
      () => inference.moe(moeReq, { signal: call.signal, onEvent: (e) => sse.event(e.type, e) }),
      (result) => sse.event("result", result),
      errorEvent(sse, "a streamed MOE job"),
    );
  });

  app.post("/v1/ask", { bodyLimit: INFERENCE_BODY_LIMIT_BYTES }, async (req, reply) => {
    const b = parseBody(askBodySchema, req.body, "ask", askHints, askShape);
    const askReq = toAskRequest(b);
    await requireMeshModel(inference, b.model, opts.sourceTimeoutMs);
    const call = startInferenceCall(reply, opts.inferenceTimeoutMs, `asking ${b.model}`);
    if (!wantsEventStream(req.url, req.headers.accept)) {
      return plainInference(reply, call, () => inference.ask(askReq, { signal: call.signal }), (r) => sendJson(reply, r));
    }
    const sse = new SseWriter(reply, sseOptions);
    await streamInference(
      call,
      sse,
      () => inference.ask(askReq, { signal: call.signal, onToken: (text) => sse.event("token", { text }) }),
      (result) => sse.event("result", result),
      errorEvent(sse, "a streamed ask"),
    );
  });

  app.get("/v1/models/local", async (_req, reply) => sendJson(reply, await withTimeout(inference.localModels(), opts.sourceTimeoutMs, "list of local models")));
  app.post("/v1/models/:name/load", async (req, reply) => {
    const name = parseModelParam(req.params);
    return sendJson(reply, await withTimeout(inference.loadModel(name), opts.modelLoadTimeoutMs, `load of model ${name}`));
  });
  app.post("/v1/models/:name/unload", async (req, reply) => {
    const name = parseModelParam(req.params);
    return sendJson(reply, await withTimeout(inference.unloadModel(name), opts.sourceTimeoutMs, `unload of model ${name}`));
  });
  // Re-advertising the capability is a DHT write: the load timeout, not the quick reads' one.
  app.post("/v1/models/rescan", async (_req, reply) => sendJson(reply, await withTimeout(inference.rescanModels(), opts.modelLoadTimeoutMs, "rescan of models.json")));
}
