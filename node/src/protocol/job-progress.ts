// A worker's progress frames are claims like its answer: each is checked before it reaches the
// requester's watchdog, its event stream (SSE, WebSocket, NATS) and the web UI. Token text is bounded
// per frame and per slot: a stream holds at most what an answer may (64 KiB), with room for the
// stop sequence and batching, so a peer cannot stream without end until the slot's time limit.
import { z } from "zod";
import { P2pProtocolError } from "../p2p/p2p-errors.ts";
import { jobProtocol, type JobProgress } from "./job-protocol.ts";

/** An answer's output limit (jobAnswerSchema), in characters. */
const MAX_ANSWER_CHARS = 64 * 1024;
/** Token text a slot may stream in all: the answer's limit twice over (batching, stop sequences). */
export const MAX_STREAMED_CHARS = 2 * MAX_ANSWER_CHARS;

const knownFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("queued") }),
  z.object({ type: z.literal("started") }),
  z.object({ type: z.literal("tokens"), text: z.string().max(MAX_ANSWER_CHARS) }),
]);

/** A progress frame that breaks the protocol: the slot fails on that peer at once (no second try). */
export class MalformedProgressError extends P2pProtocolError {}

export class JobProgressCheck {
  private streamedChars = 0;

  constructor(private readonly peerId: string) {}

  /**
   * The frame as JobProgress; undefined for a frame type this version does not know (a newer
   * worker's, ignored). Throws MalformedProgressError naming what is wrong.
   */
  check(raw: unknown): JobProgress | undefined {
    const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
    if (typeof type === "string" && !["queued", "started", "tokens"].includes(type)) return undefined;
    const parsed = knownFrame.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new MalformedProgressError(this.peerId, jobProtocol, `malformed progress frame: ${issue.path.join(".") || "frame"}: ${issue.message}`, "the peer runs a broken or hostile worker; the slot moves to another peer");
    }
    const frame = parsed.data;
    if (frame.type === "tokens") {
      this.streamedChars += frame.text.length;
      if (this.streamedChars > MAX_STREAMED_CHARS) {
        throw new MalformedProgressError(this.peerId, jobProtocol, `streamed more than ${MAX_STREAMED_CHARS} characters of tokens (an answer holds at most ${MAX_ANSWER_CHARS})`, "the peer runs a broken or hostile worker; the slot moves to another peer");
      }
    }
    return frame;
  }
}
