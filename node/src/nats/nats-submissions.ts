// Jobs submitted by NATS request-reply (`ripple.<network>.submit.moe` / `.ask`): the request body is
// the JSON that POST /v1/moe or POST /v1/ask takes, checked by the same schemas after a size check;
// the reply is the JSON those routes answer with, or their error body {"error": {code, message, fix}}.
// The job runs through the same inference source as HTTP, so an MOE job appears in the job history
// and its events on the job subjects like any other.
import type { ApiErrorBody, NatsSubmission } from "@ripple-mesh/api-types";
import { failureOf } from "../api/api-reply.ts";
import { startInferenceDeadline } from "../api/inference-call.ts";
import { requireMeshModel, toAskRequest, toMoeRequest } from "../api/inference-routes.ts";
import { askBodySchema, askHints, askShape, INFERENCE_BODY_LIMIT_BYTES, moeBodySchema, moeHints, moeShape, parseBody } from "../api/inference-schemas.ts";
import type { InferenceSource } from "../api/inference-source.ts";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";

export interface NatsSubmissionsOptions {
  inference: InferenceSource;
  log: Logger;
  /** How long one job may run before it is aborted (the HTTP routes' limit: 10 min). */
  inferenceTimeoutMs?: number;
  /** How long listing the mesh's models may take (ask checks the model first). */
  sourceTimeoutMs?: number;
  /** Submissions running at once; more are answered `busy`. */
  maxInFlight?: number;
  /** Largest request body taken (the HTTP inference routes' limit). */
  maxBodyBytes?: number;
}

export class NatsSubmissions {
  private readonly running = new Set<AbortController>();
  private readonly inferenceTimeoutMs: number;
  private readonly sourceTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxBodyBytes: number;

  constructor(private readonly opts: NatsSubmissionsOptions) {
    this.inferenceTimeoutMs = opts.inferenceTimeoutMs ?? 10 * 60_000;
    this.sourceTimeoutMs = opts.sourceTimeoutMs ?? 10_000;
    this.maxInFlight = opts.maxInFlight ?? 16;
    this.maxBodyBytes = opts.maxBodyBytes ?? INFERENCE_BODY_LIMIT_BYTES;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** The reply to one request: the result, or the error body. Never throws. */
  async answer(what: NatsSubmission, data: Uint8Array): Promise<unknown> {
    if (data.byteLength > this.maxBodyBytes) {
      return errorBody("body_too_large", `the request body is larger than ${this.maxBodyBytes} bytes (${data.byteLength} sent)`, "send a smaller body");
    }
    if (this.running.size >= this.maxInFlight) {
      return failureBody(new InferenceError("busy", `this node already runs ${this.running.size} jobs submitted over NATS`, "retry later, or submit to another node"));
    }
    let body: unknown;
    try {
      body = data.byteLength === 0 ? undefined : JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
    } catch (err) {
      return errorBody("invalid_json", `the request body is not valid JSON: ${(err as Error).message}`, "send a valid JSON body");
    }
    const deadline = startInferenceDeadline(this.inferenceTimeoutMs, `the ${what} request`);
    this.running.add(deadline.controller);
    try {
      return await this.run(what, body, deadline.controller.signal);
    } catch (err) {
      const failure = failureOf(deadline.failure(err));
      if (failure.status >= 500 && failure.status !== 503) this.opts.log.warn({ err, code: failure.code, submission: what }, "a job submitted over NATS failed");
      return { error: { code: failure.code, message: failure.message, fix: failure.fix } } satisfies ApiErrorBody;
    } finally {
      deadline.dispose();
      this.running.delete(deadline.controller);
    }
  }

  /** Aborts every running submission (the node is stopping); each is answered with the error. */
  abortAll(): void {
    const reason = new InferenceError("cancelled", "the node stopped while the job ran", "submit it again once the node is back, or to another node");
    for (const c of this.running) c.abort(reason);
  }

  private async run(what: NatsSubmission, body: unknown, signal: AbortSignal): Promise<unknown> {
    const { inference } = this.opts;
    if (what === "moe") {
      const req = toMoeRequest(parseBody(moeBodySchema, body, "moe", moeHints, moeShape));
      return inference.moe(req, { signal });
    }
    const b = parseBody(askBodySchema, body, "ask", askHints, askShape);
    await requireMeshModel(inference, b.model, this.sourceTimeoutMs);
    return inference.ask(toAskRequest(b), { signal });
  }
}

function errorBody(code: string, message: string, fix: string): ApiErrorBody {
  return { error: { code, message, fix } };
}

function failureBody(err: unknown): ApiErrorBody {
  const { code, message, fix } = failureOf(err);
  return errorBody(code, message, fix);
}
