// The AbortSignal an inference route hands to the source: it fires when the client goes away (so a
// closed `ripple ask` or a cancelled OpenAI stream stops the generation) or when the API's time limit
// for inference passes.
import type { FastifyReply } from "fastify";
import { InferenceError } from "../inference/inference-errors.ts";
import type { SseWriter } from "./sse.ts";

export interface InferenceCall {
  readonly signal: AbortSignal;
  /** The time limit passed (the source's error is then reported as a 504 timeout). */
  readonly timedOut: boolean;
  /** The client closed its connection before the response was complete. */
  readonly clientGone: boolean;
  /** The error to report for what the source threw. */
  failure(err: unknown): unknown;
  dispose(): void;
}

/** The time limit of one inference call, whatever door it came through (HTTP here, NATS submissions). */
export interface InferenceDeadline {
  /** Aborted with a timeout InferenceError when the limit passes; callers may abort it for their own reasons. */
  readonly controller: AbortController;
  readonly timedOut: boolean;
  /** The error to report for what the source threw: the timeout when the limit passed, else `err`. */
  failure(err: unknown): unknown;
  dispose(): void;
}

export function startInferenceDeadline(timeoutMs: number, what: string): InferenceDeadline {
  const controller = new AbortController();
  let timedOut = false;
  const timeoutError = new InferenceError(
    "timeout",
    `${what} did not finish within ${Math.round(timeoutMs / 1000)} s`,
    "ask for fewer tokens (max_tokens) or fewer experts, or retry when the mesh is less busy",
  );
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(timeoutError);
  }, timeoutMs);
  timer.unref();
  return {
    controller,
    get timedOut() {
      return timedOut;
    },
    failure: (err) => (timedOut ? timeoutError : err),
    dispose: () => clearTimeout(timer),
  };
}

export function startInferenceCall(reply: FastifyReply, timeoutMs: number, what: string): InferenceCall {
  const deadline = startInferenceDeadline(timeoutMs, what);
  let clientGone = false;
  // "close" on the response: the connection ended; unfinished means the client left before the answer.
  const onClose = (): void => {
    if (reply.raw.writableFinished) return;
    clientGone = true;
    deadline.controller.abort(new InferenceError("cancelled", `the client closed the connection during ${what}`, "keep the connection open until the answer arrives"));
  };
  reply.raw.once("close", onClose);
  return {
    signal: deadline.controller.signal,
    get timedOut() {
      return deadline.timedOut;
    },
    get clientGone() {
      return clientGone;
    },
    failure: (err) => deadline.failure(err),
    dispose: () => {
      deadline.dispose();
      reply.raw.off("close", onClose);
    },
  };
}

/**
 * Runs a plain (not streamed) source call and returns what `send` makes of its result. A client that
 * left gets no answer: its socket is closed at once (a reply written after it left would keep the
 * connection, and so the API's shutdown, waiting).
 */
export async function plainInference<T>(reply: FastifyReply, call: InferenceCall, run: () => Promise<T>, send: (result: T) => unknown): Promise<unknown> {
  try {
    return send(await run());
  } catch (err) {
    if (call.clientGone) {
      reply.hijack();
      reply.raw.destroy();
      return undefined;
    }
    throw call.failure(err);
  } finally {
    call.dispose();
  }
}

/**
 * Runs a streamed source call: `finish` writes the result events. An error before the stream opened
 * is thrown (the route's error handler answers with its status); after, `errorEvent` writes it into the
 * stream, which then ends.
 */
export async function streamInference<T>(
  call: InferenceCall,
  sse: SseWriter,
  run: () => Promise<T>,
  finish: (result: T) => void,
  errorEvent: (err: unknown) => void,
): Promise<void> {
  sse.start();
  try {
    finish(await run());
  } catch (e) {
    const err = call.failure(e);
    if (!sse.isOpen) throw err;
    if (!call.clientGone) errorEvent(err);
  } finally {
    sse.end();
    call.dispose();
  }
}

/** `?stream=1` (or true) or `Accept: text/event-stream`; `?stream=0` wins over the header. */
export function wantsEventStream(url: string, accept: string | undefined): boolean {
  const q = url.indexOf("?");
  const stream = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get("stream");
  if (stream !== null) return stream === "1" || stream === "true";
  return (accept ?? "").toLowerCase().includes("text/event-stream");
}
