// How the local API answers: JSON bodies, the error body `{error: {code, message, fix}}`, and the
// mapping from thrown errors to an HTTP status (shared by local-api.ts and the inference routes).
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply } from "fastify";
import { DaemonNotReadyError, RippleError } from "../errors.ts";
import { InferenceError } from "../inference/inference-errors.ts";
import type { Logger } from "../log.ts";
import type { ApiErrorBody } from "./request-guard.ts";

/** The fastify instance of the local API (its logger is our pino logger). */
export type ApiApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** A source call did not finish within the API's time limit: 504. */
export class SourceTimeoutError extends RippleError {}

export interface ApiFailure extends ApiErrorBody {
  status: number;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SourceTimeoutError(`the daemon did not produce its ${what} within ${ms} ms`, "retry; if it persists, see the daemon's logs")),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.header("content-type", "application/json; charset=utf-8").send(JSON.stringify(value ?? null));
}

export function sendError(reply: FastifyReply, status: number, body: ApiErrorBody): FastifyReply {
  return reply.code(status).header("content-type", "application/json; charset=utf-8").send(JSON.stringify({ error: { code: body.code, message: body.message, fix: body.fix } }));
}

/** The status and error body a thrown error is answered with. */
export function failureOf(err: unknown): ApiFailure {
  if (err instanceof InferenceError) return { status: err.httpStatus, code: err.code, message: err.reason, fix: err.fix };
  if (err instanceof RippleError) {
    const status = err instanceof DaemonNotReadyError ? 503 : err instanceof SourceTimeoutError ? 504 : 500;
    return { status, code: status === 503 ? "not_ready" : status === 504 ? "timeout" : "failed", message: err.reason, fix: err.fix };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, code: "internal", message: `internal error: ${message}`, fix: "see the daemon's log for details" };
}
