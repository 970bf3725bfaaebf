// One JSON request → one JSON response over a libp2p stream, each as one unsigned-varint
// length-prefixed frame (the framing it-length-prefixed uses). Both sides enforce a size limit
// before buffering a frame: the reader learns the length from the prefix and refuses at once.
//
// The server always answers with an envelope, {ok: true, result} or {ok: false, code, error}, so a
// refusal (too large, not JSON, unbound peer) reaches the client as a named error instead of a
// stream reset. libp2p 3 streams are event-driven MessageStreams: we read 'message' events
// ourselves (lpStream's byte buffer would abort the stream when an oversize request keeps
// arriving, before the refusal could be sent).
import type { Stream } from "@libp2p/interface";
import { z } from "zod";
import { TimeoutError } from "../errors.ts";
import {
  P2pMessageTooLargeError,
  P2pProtocolError,
  P2pRemoteError,
  P2pRequestError,
  remoteErrorCodes,
  type RemoteErrorCode,
} from "./p2p-errors.ts";
import { linkSignals } from "../linked-signal.ts";

/** A handler throws this to answer with a specific error code instead of "handler-error". */
export class JsonRefusal extends Error {
  constructor(
    readonly code: RemoteErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "JsonRefusal";
  }
}

/** The frame's length prefix announces more than the reader's limit. */
export class FrameTooLargeError extends Error {
  constructor(
    readonly length: number,
    readonly maxBytes: number,
  ) {
    super(`frame of ${length} bytes exceeds the limit of ${maxBytes} bytes`);
    this.name = "FrameTooLargeError";
  }
}

/** The frame fits the limit, but the sender's byte budget (peer-budget.ts) has no room for it now. */
export class FrameOverBudgetError extends FrameTooLargeError {
  override name = "FrameOverBudgetError";
  override message = `a frame of ${this.length} bytes does not fit the request bytes in flight allowed now (this sender's budget, or all senders' together)`;
}

/** The whole frame did not arrive within the read deadline (a peer that trickles or sends nothing). */
export class FrameDeadlineError extends Error {
  override name = "FrameDeadlineError";
}

/** The bytes are not a frame (bad length prefix) or the stream ended inside one. */
export class FrameError extends Error {
  override name = "FrameError";
}

const envelopeSchema = z.discriminatedUnion("ok", [
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ok: z.literal(false), code: z.enum(remoteErrorCodes), error: z.string().max(4096) }),
]);
type Envelope = z.infer<typeof envelopeSchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
/** A 5-byte varint holds up to 2^35-1; no sane limit needs more. */
const MAX_PREFIX_BYTES = 5;
/** How long a server keeps discarding the rest of an oversize request before it resets the stream. */
const DISCARD_TIMEOUT_MS = 10_000;

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** The decoded prefix, or undefined when more bytes are needed. */
function readVarint(bytes: Uint8Array): { value: number; size: number } | undefined {
  let value = 0;
  for (let i = 0; i < bytes.length && i < MAX_PREFIX_BYTES; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, size: i + 1 };
  }
  if (bytes.length >= MAX_PREFIX_BYTES) throw new FrameError("invalid length prefix");
  return undefined;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export interface ReadFrameOptions {
  /** Called with the announced length before any of the frame is kept; false refuses it (FrameOverBudgetError). */
  reserve?: (bytes: number) => boolean;
}

/**
 * Reads one frame of at most maxBytes. On FrameTooLargeError the reader keeps discarding what
 * still arrives (so the stream does not back up and reset before the refusal is sent) until the
 * stream closes, and resets the stream if that takes longer than DISCARD_TIMEOUT_MS.
 */
export function readFrame(stream: Stream, maxBytes: number, signal?: AbortSignal, opts: ReadFrameOptions = {}): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let length: number | undefined;
    let done = false;
    let discardTimer: NodeJS.Timeout | undefined;

    const cleanup = () => {
      stream.removeEventListener("message", onMessage);
      stream.removeEventListener("end", onEnd);
      stream.removeEventListener("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      clearTimeout(discardTimer);
    };
    const finish = (err: Error | undefined, frame?: Uint8Array) => {
      if (done) return;
      done = true;
      if (err instanceof FrameTooLargeError) {
        // Keep only the discarding 'message' listener (and the close listener that removes it).
        stream.removeEventListener("end", onEnd);
        signal?.removeEventListener("abort", onAbort);
        discardTimer = setTimeout(() => stream.abort(err), DISCARD_TIMEOUT_MS);
        discardTimer.unref();
        reject(err);
        return;
      }
      cleanup();
      if (err) reject(err);
      else resolve(frame!);
    };
    function onMessage(evt: { data: Uint8Array | { subarray(): Uint8Array } }) {
      if (done) return; // discarding the rest of an oversize frame
      const data = evt.data.subarray();
      pending.push(data);
      pendingBytes += data.length;
      try {
        if (length === undefined) {
          const all = concat(pending);
          const prefix = readVarint(all);
          pending = [all];
          if (!prefix) return;
          if (prefix.value > maxBytes) return finish(new FrameTooLargeError(prefix.value, maxBytes));
          if (opts.reserve && !opts.reserve(prefix.value)) return finish(new FrameOverBudgetError(prefix.value, maxBytes));
          length = prefix.value;
          pending = [all.subarray(prefix.size)];
          pendingBytes = all.length - prefix.size;
        }
        if (pendingBytes >= length) finish(undefined, concat(pending).subarray(0, length));
      } catch (err) {
        finish(err as Error);
      }
    }
    function onEnd() {
      finish(new FrameError(`the stream ended after ${pendingBytes} bytes, inside a frame`));
    }
    function onClose(evt: Event & { error?: Error }) {
      if (done) return cleanup(); // the discard phase ends with the stream
      if (evt.error) return finish(evt.error);
      // Data queued on the stream is dispatched on a timer; let it arrive before calling this EOF.
      setTimeout(() => onEnd(), 0);
    }
    function onAbort() {
      finish(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    }

    if (signal?.aborted) return onAbort();
    stream.addEventListener("message", onMessage);
    stream.addEventListener("end", onEnd);
    stream.addEventListener("close", onClose);
    signal?.addEventListener("abort", onAbort);
    if (stream.readableEnded && stream.readBufferLength === 0) onEnd();
  });
}

/** Writes one frame, waiting for the stream to drain when its send buffer is full. */
export async function writeFrame(stream: Stream, payload: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(concat([varint(payload.length), payload]))) await stream.onDrain(signal ? { signal } : {});
}

export interface ServeJsonOptions {
  maxBytes: number;
  /** The whole request frame must arrive within this; otherwise the stream is aborted. Default: no deadline. */
  readTimeoutMs?: number;
  /** Budget check for the request's announced length (see ReadFrameOptions.reserve). */
  reserve?: (bytes: number) => boolean;
  /** Answers the request; throw JsonRefusal for a coded refusal. */
  handle: (request: unknown) => Promise<unknown>;
  signal?: AbortSignal;
}

/** Server side of one exchange. Never throws: a broken stream is aborted; everything else is answered. */
export async function serveJson(stream: Stream, opts: ServeJsonOptions): Promise<void> {
  let reply: Envelope;
  try {
    const frame = await readRequestFrame(stream, opts);
    reply = await answer(frame, opts.handle);
  } catch (err) {
    if (err instanceof FrameOverBudgetError) {
      reply = { ok: false, code: "busy", error: err.message };
    } else if (err instanceof FrameTooLargeError) {
      reply = { ok: false, code: "too-large", error: `a request of ${err.length} bytes is larger than this peer's limit of ${err.maxBytes} bytes` };
    } else if (err instanceof FrameError && stream.status === "open") {
      reply = { ok: false, code: "bad-request", error: err.message };
    } else {
      stream.abort(err as Error);
      return;
    }
  }
  try {
    await writeFrame(stream, encodeJson(reply), opts.signal);
    await stream.close(opts.signal ? { signal: opts.signal } : {});
  } catch (err) {
    stream.abort(err as Error);
  }
}

/** readFrame with the server-side read deadline and budget check; a missed deadline is a FrameDeadlineError. */
export async function readRequestFrame(stream: Stream, opts: { maxBytes: number; readTimeoutMs?: number; reserve?: (bytes: number) => boolean; signal?: AbortSignal }): Promise<Uint8Array> {
  const deadline = opts.readTimeoutMs === undefined ? undefined : AbortSignal.timeout(opts.readTimeoutMs);
  const link = deadline || opts.signal ? linkSignals(deadline, opts.signal) : undefined;
  try {
    return await readFrame(stream, opts.maxBytes, link?.signal, opts.reserve ? { reserve: opts.reserve } : {});
  } catch (err) {
    if (deadline?.aborted && !opts.signal?.aborted && !(err instanceof FrameTooLargeError)) {
      throw new FrameDeadlineError(`the request did not arrive within ${opts.readTimeoutMs} ms`, { cause: err });
    }
    throw err;
  } finally {
    link?.dispose();
  }
}

async function answer(frame: Uint8Array, handle: (request: unknown) => Promise<unknown>): Promise<Envelope> {
  let request: unknown;
  try {
    request = JSON.parse(decoder.decode(frame));
  } catch {
    return { ok: false, code: "bad-request", error: "the request is not UTF-8 JSON" };
  }
  try {
    return { ok: true, result: (await handle(request)) ?? null };
  } catch (err) {
    const code = err instanceof JsonRefusal ? err.code : "handler-error";
    return { ok: false, code, error: String((err as Error)?.message ?? err).slice(0, 1000) };
  }
}

export interface RequestJsonOptions {
  timeoutMs: number;
  /** Limit for both our request and the peer's response, in bytes of JSON. */
  maxBytes: number;
  signal?: AbortSignal;
}

/**
 * Client side of one exchange: opens a stream with `open`, sends the request, returns the result.
 * Throws TimeoutError, P2pMessageTooLargeError, P2pRemoteError, P2pProtocolError or P2pRequestError.
 */
export async function requestJsonOver(
  open: (signal: AbortSignal) => Promise<Stream>,
  target: { peerId: string; protocol: string },
  request: unknown,
  opts: RequestJsonOptions,
): Promise<unknown> {
  const { peerId, protocol } = target;
  const payload = encodeJson(request);
  if (payload.length > opts.maxBytes) {
    throw new P2pMessageTooLargeError(peerId, protocol, `the request is ${payload.length} bytes, over the limit of ${opts.maxBytes}`, "send less, or raise maxBytes on both sides");
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const link = linkSignals(timeout, opts.signal);
  const signal = link.signal;
  let stream: Stream | undefined;
  let writing: Promise<void> | undefined;
  try {
    stream = await open(signal);
    // Read while writing: a server that refuses early (too large, unbound) answers before it has
    // read everything, and the answer is what the caller needs, not the state of our write.
    const response = readFrame(stream, opts.maxBytes, signal);
    const out = stream;
    let written = false;
    writing = (async () => {
      await writeFrame(out, payload, signal);
      written = true;
      await out.close({ signal });
    })();
    writing.catch(() => {}); // a failed write also fails or resets the stream, which the read reports
    const frame = await response;
    // Answered before our request was out (a refusal): stop pushing the rest of it.
    if (!written) stream.abort(new Error("the peer answered before reading the whole request"));
    return parseEnvelope(frame, target);
  } catch (err) {
    stream?.abort(err as Error);
    if (err instanceof P2pRequestError) throw err;
    if (timeout.aborted) {
      throw new TimeoutError(`${peerId} did not answer on ${protocol} within ${opts.timeoutMs} ms`, "check that the peer is running and reachable; retry later", { cause: err });
    }
    if (err instanceof FrameTooLargeError) {
      throw new P2pMessageTooLargeError(peerId, protocol, `the response is ${err.length} bytes, over the limit of ${err.maxBytes}`, "raise maxBytes for this protocol", { cause: err });
    }
    if (err instanceof FrameError) throw new P2pProtocolError(peerId, protocol, err.message, "the peer does not speak this protocol correctly", { cause: err });
    const message = (err as Error)?.message ?? String(err);
    throw new P2pRequestError(peerId, protocol, message, "check that the peer is connected and serves this protocol; retry later", { cause: err });
  } finally {
    // The write (and its close) may go on after the answer: the link lives until it ends too.
    link.disposeAfter(writing);
  }
}

function parseEnvelope(frame: Uint8Array, target: { peerId: string; protocol: string }): unknown {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(frame));
  } catch {
    throw new P2pProtocolError(target.peerId, target.protocol, "the response is not UTF-8 JSON", "the peer does not speak this protocol correctly");
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new P2pProtocolError(target.peerId, target.protocol, `the response is not a {ok, result|code, error} envelope: ${z.prettifyError(parsed.error)}`, "the peer does not speak this protocol correctly");
  }
  const env = parsed.data;
  if (env.ok) return env.result;
  throw new P2pRemoteError(target.peerId, target.protocol, env.code, env.error);
}
