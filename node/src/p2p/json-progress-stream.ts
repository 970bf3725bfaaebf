// One JSON request → any number of progress frames → one final envelope, over one libp2p stream.
// Used where the answer takes a while and the caller wants to see it grow (streamed tokens).
//
// Frames are the same unsigned-varint length-prefixed JSON as json-stream.ts: progress frames are
// {progress: value}; the last frame is the usual {ok: true, result} | {ok: false, code, error}.
// The server's handler gets an AbortSignal that fires when the requester goes away, so work for a
// requester that gave up (timeout, reassignment, Ctrl-C) stops.
import type { Stream } from "@libp2p/interface";
import * as lp from "it-length-prefixed";
import { z } from "zod";
import { TimeoutError } from "../errors.ts";
import { encodeJson, FrameError, FrameOverBudgetError, FrameTooLargeError, JsonRefusal, readRequestFrame, writeFrame } from "./json-stream.ts";
import { P2pMessageTooLargeError, P2pProtocolError, P2pRemoteError, P2pRequestError, remoteErrorCodes } from "./p2p-errors.ts";
import { linkSignals } from "../linked-signal.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

const frameSchema = z.union([
  z.strictObject({ progress: z.unknown() }),
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ok: z.literal(false), code: z.enum(remoteErrorCodes), error: z.string().max(4096) }),
]);

export interface ProgressContext {
  /** Sends one progress frame (waits while the stream's send buffer is full). */
  emit(progress: unknown): Promise<void>;
  /** Fires when the requester closes or resets the stream before the final frame. */
  signal: AbortSignal;
}

export interface ServeProgressOptions {
  maxBytes: number;
  /** The whole request frame must arrive within this; otherwise the stream is aborted. Default: no deadline. */
  readTimeoutMs?: number;
  /** Budget check for the request's announced length (see json-stream.ts ReadFrameOptions.reserve). */
  reserve?: (bytes: number) => boolean;
  handle: (request: unknown, ctx: ProgressContext) => Promise<unknown>;
}

/** Server side. Never throws: every outcome is answered, or the stream is aborted when it broke. */
export async function serveProgressStream(stream: Stream, opts: ServeProgressOptions): Promise<void> {
  const gone = new AbortController();
  const onClose = () => gone.abort(new Error("the requester closed the stream"));
  stream.addEventListener("close", onClose);
  try {
    let request: unknown;
    try {
      request = JSON.parse(decoder.decode(await readRequestFrame(stream, opts)));
    } catch (err) {
      if (err instanceof FrameOverBudgetError) return await finish(stream, { ok: false, code: "busy", error: err.message });
      if (err instanceof FrameTooLargeError) return await finish(stream, { ok: false, code: "too-large", error: err.message });
      if (err instanceof FrameError || err instanceof SyntaxError || err instanceof TypeError) {
        return await finish(stream, { ok: false, code: "bad-request", error: "the request is not one UTF-8 JSON frame" });
      }
      throw err;
    }
    const ctx: ProgressContext = {
      signal: gone.signal,
      emit: async (progress) => {
        if (!gone.signal.aborted) await writeFrame(stream, encodeJson({ progress }), gone.signal);
      },
    };
    let reply: unknown;
    try {
      reply = { ok: true, result: (await opts.handle(request, ctx)) ?? null };
    } catch (err) {
      const code = err instanceof JsonRefusal ? err.code : "handler-error";
      reply = { ok: false, code, error: String((err as Error)?.message ?? err).slice(0, 1000) };
    }
    if (!gone.signal.aborted) await finish(stream, reply);
  } catch (err) {
    stream.abort(err as Error);
  } finally {
    stream.removeEventListener("close", onClose);
  }
}

async function finish(stream: Stream, envelope: unknown): Promise<void> {
  await writeFrame(stream, encodeJson(envelope));
  await stream.close();
}

export interface RequestProgressOptions {
  maxBytes: number;
  /** The whole exchange. */
  timeoutMs: number;
  /** Longest silence between two frames (a stalled server); default: timeoutMs. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress: (progress: unknown) => void;
}

/** Client side: sends the request, hands each progress frame to onProgress, returns the result. */
export async function requestProgressOver(
  open: (signal: AbortSignal) => Promise<Stream>,
  target: { peerId: string; protocol: string },
  request: unknown,
  opts: RequestProgressOptions,
): Promise<unknown> {
  const { peerId, protocol } = target;
  const payload = encodeJson(request);
  if (payload.length > opts.maxBytes) {
    throw new P2pMessageTooLargeError(peerId, protocol, `the request is ${payload.length} bytes, over the limit of ${opts.maxBytes}`, "send less");
  }
  const overall = AbortSignal.timeout(opts.timeoutMs);
  const idle = new IdleTimer(opts.idleTimeoutMs ?? opts.timeoutMs);
  const link = linkSignals(overall, idle.signal, opts.signal);
  const signal = link.signal;
  let stream: Stream | undefined;
  let writing: Promise<void> | undefined;
  try {
    stream = await open(signal);
    // Read while writing: a server that refuses before reading the request (unbound, busy) answers
    // at once and resets the stream, and that answer is what the caller needs.
    const frames = lp.decode(stream, { maxDataLength: opts.maxBytes })[Symbol.asyncIterator]();
    let next = frames.next();
    const out = stream;
    writing = (async () => {
      await writeFrame(out, payload, signal);
      await out.close({ signal }); // our write side only: the answer still arrives
    })();
    writing.catch(() => {}); // a failed write also fails or resets the stream, which the read reports
    const onAbort = () => stream?.abort(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (let item = await next; !item.done; item = await next) {
        idle.reset();
        const frame = parseFrame(item.value.subarray(), target);
        if ("progress" in frame) opts.onProgress(frame.progress);
        else if (frame.ok) return frame.result;
        else throw new P2pRemoteError(peerId, protocol, frame.code, frame.error);
        next = frames.next();
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      void frames.return(undefined).catch(() => {}); // detaches the decoder's stream listeners
    }
    throw new P2pProtocolError(peerId, protocol, "the stream ended without a final answer", "the peer stopped or does not speak this protocol");
  } catch (err) {
    stream?.abort(err as Error);
    if (err instanceof P2pRequestError) throw err;
    if (overall.aborted || idle.signal.aborted) {
      const what = overall.aborted ? `did not finish within ${opts.timeoutMs} ms` : `sent nothing for ${opts.idleTimeoutMs} ms`;
      throw new TimeoutError(`${peerId} ${what} on ${protocol}`, "check that the peer is running and not overloaded; the job can be reassigned", { cause: err });
    }
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error("aborted", { cause: err });
    const message = (err as Error)?.message ?? String(err);
    throw new P2pRequestError(peerId, protocol, message, "check that the peer is connected and serves this protocol", { cause: err });
  } finally {
    idle.stop();
    // The write (and its close) may go on after the answer: the link lives until it ends too.
    link.disposeAfter(writing);
  }
}

function parseFrame(bytes: Uint8Array, target: { peerId: string; protocol: string }): z.infer<typeof frameSchema> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new P2pProtocolError(target.peerId, target.protocol, "a frame is not UTF-8 JSON", "the peer does not speak this protocol correctly");
  }
  const parsed = frameSchema.safeParse(json);
  if (!parsed.success) throw new P2pProtocolError(target.peerId, target.protocol, `unexpected frame: ${z.prettifyError(parsed.error)}`, "the peer does not speak this protocol correctly");
  return parsed.data;
}

/** An AbortSignal that fires after `ms` without a reset. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  constructor(private readonly ms: number) {
    this.timer = this.arm();
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  reset(): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
  }
  stop(): void {
    clearTimeout(this.timer);
  }
  private arm(): NodeJS.Timeout {
    const t = setTimeout(() => this.controller.abort(new Error(`idle for ${this.ms} ms`)), this.ms);
    t.unref();
    return t;
  }
}
