// Requests to the daemon that served this page (same origin, so the API's Host/Origin guard lets
// them through), with the API token when the daemon requires one (api-token.ts). Every call has a time limit; failures become ApiError with the daemon's message and fix.
import { SseParser } from "@ripple-mesh/api-types";
import type { ApiErrorBody } from "@ripple-mesh/api-types";
import { apiToken, authHeaders } from "./api-token.ts";

export class ApiError extends Error {
  /** On a 401: the token the request was sent with (undefined: none), to tell a stale refusal from a current one. */
  sentToken?: string;

  constructor(
    message: string,
    readonly fix: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The daemon's error for a response, noting on a 401 which token the request carried. */
async function refusal(res: Response, sentToken: string | undefined): Promise<ApiError> {
  const err = await errorOf(res);
  if (res.status === 401) err.sentToken = sentToken;
  return err;
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: Partial<ApiErrorBody> | undefined;
  try {
    body = (await res.json()) as Partial<ApiErrorBody>;
  } catch {
    // not JSON
  }
  const e = body?.error;
  return new ApiError(e?.message ?? `the daemon answered ${res.status} ${res.statusText}`, e?.fix ?? "see the daemon's log", res.status, e?.code ?? "http_error");
}

function unreachable(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const timeout = err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");
  return new ApiError(timeout ? "the daemon did not answer in time" : "the daemon is unreachable", "check that `ripple up` is still running", 0, timeout ? "timeout" : "unreachable");
}

export function getJson<T>(path: string, timeoutMs = 8000): Promise<T> {
  return requestJson<T>("GET", path, timeoutMs);
}

/** POSTs (no body) and reads the JSON answer, e.g. a model load; its own time limit (a load can take a while). */
export function postJson<T>(path: string, timeoutMs = 130_000): Promise<T> {
  return requestJson<T>("POST", path, timeoutMs);
}

async function requestJson<T>(method: "GET" | "POST", path: string, timeoutMs: number): Promise<T> {
  const sent = apiToken();
  try {
    const res = await fetch(path, { method, headers: { accept: "application/json", ...authHeaders() }, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw await refusal(res, sent);
    return (await res.json()) as T;
  } catch (err) {
    throw unreachable(err);
  }
}

/**
 * POSTs `body` asking for server-sent events, and calls `onEvent(name, data)` for each one until the
 * stream ends. Resolves with the `result` event's data; rejects with the `error` event's error.
 */
export async function postStream<R>(path: string, body: unknown, onEvent: (name: string, data: unknown) => void, signal?: AbortSignal): Promise<R> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...authHeaders() },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw unreachable(err);
  }
  if (!res.ok || !res.body) throw await errorOf(res);
  const parser = new SseParser();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let result: R | undefined;
  let failure: ApiError | undefined;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const m of parser.push(value)) {
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          continue;
        }
        const name = m.event ?? "message";
        if (name === "result") result = data as R;
        else if (name === "error") {
          const e = (data as Partial<ApiErrorBody>).error;
          failure = new ApiError(e?.message ?? "the job failed", e?.fix ?? "see the daemon's log", 200, e?.code ?? "failed");
        } else onEvent(name, data);
      }
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    throw unreachable(err);
  }
  if (failure) throw failure;
  if (result === undefined) throw new ApiError("the stream ended without a result", "retry; see the daemon's log if it persists", 200, "incomplete");
  return result;
}
