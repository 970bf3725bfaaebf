// Server-sent events, both ends: the writer the inference routes stream with, and the parser the
// CLI's client reads them with. The writer opens the stream lazily (on the first write), so an error
// before any output is still answered with its HTTP status and a JSON body.
import type { FastifyReply } from "fastify";
import { SseParser, type SseMessage } from "@ripple-mesh/api-types";
import { RippleError } from "../errors.ts";

export interface SseWriterOptions {
  /** A client that lets more than this many bytes queue up is cut off (its request is then aborted). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** With nothing written for this long, a comment line is sent so that proxies and clients keep waiting. Default 15 s. */
  keepaliveMs?: number;
}

export class SseWriter {
  private opened = false;
  private ended = false;
  private keepalive: NodeJS.Timeout | undefined;
  private readonly maxBufferedBytes: number;
  private readonly keepaliveMs: number;

  constructor(
    private readonly reply: FastifyReply,
    opts: SseWriterOptions = {},
  ) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
    this.keepaliveMs = opts.keepaliveMs ?? 15_000;
  }

  /** Whether the response headers (200, text/event-stream) have gone out: errors must then travel as events. */
  get isOpen(): boolean {
    return this.opened;
  }

  /** Starts the keep-alive timer; the stream itself opens at the first write or keep-alive. */
  start(): void {
    this.armKeepalive();
  }

  /** `event: NAME` (omitted when undefined) and `data: JSON`. */
  event(name: string | undefined, data: unknown): void {
    this.write(`${name === undefined ? "" : `event: ${name}\n`}data: ${JSON.stringify(data)}\n\n`);
  }

  /** A data line that is not JSON (OpenAI's `[DONE]`). */
  rawData(text: string): void {
    this.write(`data: ${text}\n\n`);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.keepalive);
    if (this.opened && !this.reply.raw.destroyed) this.reply.raw.end();
  }

  private open(): void {
    if (this.opened) return;
    this.opened = true;
    this.reply.hijack();
    this.reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    this.reply.raw.flushHeaders();
  }

  private write(text: string): void {
    if (this.ended) return;
    const raw = this.reply.raw;
    if (raw.destroyed) return;
    this.open();
    // A reader that stopped reading would make us hold every token in memory.
    if (raw.writableLength > this.maxBufferedBytes) {
      this.ended = true;
      clearTimeout(this.keepalive);
      raw.destroy();
      return;
    }
    raw.write(text);
    this.armKeepalive();
  }

  private armKeepalive(): void {
    clearTimeout(this.keepalive);
    if (this.ended) return;
    this.keepalive = setTimeout(() => this.write(": keep-alive\n\n"), this.keepaliveMs);
    this.keepalive.unref();
  }
}

export type { SseMessage };

/** An event stream sent a message larger than the reader accepts. */
export class SseMessageTooLargeError extends RippleError {}

/** The messages of an event stream, read with the parser the web UI uses too; a message over the limit is refused before it is buffered further. */
export async function* readSse(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxMessageBytes = 8 * 1024 * 1024): AsyncGenerator<SseMessage, void, undefined> {
  const decoder = new TextDecoder();
  const parser = new SseParser(maxMessageBytes, (what) => new SseMessageTooLargeError(what, "check that the daemon and the CLI are the same version"));
  for await (const chunk of body) yield* parser.push(decoder.decode(chunk, { stream: true }));
  yield* parser.push(decoder.decode());
  parser.end();
}
