// The daemon's event stream (/v1/events) read over its WebSocket, as an async iterator: a slow
// reader pauses the socket past a high-water mark instead of buffering without bound; the stream's
// end, a refusal or a dropped connection becomes the iterator's return or a RippleError that says why.
import type { ApiEvent } from "@ripple-mesh/api-types";
import { RippleError } from "../errors.ts";
import { WebSocket } from "./ws.ts";

/** Events buffered before the socket is paused (resumed at half). */
const EVENTS_HIGH_WATER = 256;

export interface EventStreamOptions {
  /** Ends the stream (the iterator returns). */
  signal?: AbortSignal;
}

/** Nothing answers at the daemon's URL. */
export class DaemonUnreachableError extends RippleError {}

/** Where the stream is and how its failures read (the client's own error wording). */
export interface EventStreamConnection {
  url: string;
  token?: string;
  handshakeTimeoutMs: number;
  /** The daemon answered the upgrade with an HTTP error. */
  refused: (status: number, body: string) => Error;
  transportError: (err: unknown) => Error;
  unreachableFix: () => string;
}

/** The daemon's events, starting with its `{type: "hello"}`; ends when the daemon closes the stream. */
export async function* readEventStream(conn: EventStreamConnection, opts: EventStreamOptions = {}): AsyncGenerator<ApiEvent, void, undefined> {
  const wsUrl = `${conn.url.replace(/^http/, "ws")}/v1/events`;
  const ws = new WebSocket(wsUrl, {
    handshakeTimeout: conn.handshakeTimeoutMs,
    maxPayload: 16 * 1024 * 1024,
    ...(conn.token ? { headers: { authorization: `Bearer ${conn.token}` } } : {}),
  });
  const queue: ApiEvent[] = [];
  let ended = false;
  let closingLocally = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };

  ws.on("message", (data: Buffer) => {
    try {
      queue.push(JSON.parse(data.toString("utf8")) as ApiEvent);
    } catch (err) {
      failure ??= new RippleError(`the daemon at ${conn.url} sent an event that is not JSON`, "check that the daemon and the CLI are the same version", { cause: err });
      ws.terminate();
    }
    if (queue.length >= EVENTS_HIGH_WATER) ws.pause();
    notify();
  });
  ws.on("unexpected-response", (_req: unknown, res: NodeJS.ReadableStream & { statusCode?: number }) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => {
      failure ??= conn.refused(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"));
      ws.terminate();
      notify();
    });
  });
  ws.on("error", (err: Error) => {
    failure ??= conn.transportError(err);
    notify();
  });
  ws.on("close", (code: number, reason: Buffer) => {
    ended = true;
    if (!closingLocally && code === 1013) {
      failure ??= new RippleError(`the daemon at ${conn.url} dropped this event stream: ${reason.toString() || "it was read too slowly"}`, "reconnect, and consume events promptly");
    } else if (!closingLocally && code !== 1000 && code !== 1001 && code !== 1005) {
      failure ??= new DaemonUnreachableError(`the event stream from ${conn.url} ended abruptly (code ${code})`, conn.unreachableFix());
    }
    notify();
  });
  const onAbort = (): void => {
    closingLocally = true;
    ws.terminate();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        if (queue.length < EVENTS_HIGH_WATER / 2) ws.resume();
        yield next;
        continue;
      }
      if (ended) {
        if (failure && !closingLocally) throw failure;
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    if (!ended) {
      closingLocally = true;
      ws.close(1000, "client done");
      setTimeout(() => ws.terminate(), 1000).unref();
    }
  }
}
