// Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html) as the daemon
// streams MOE progress and tokens: `event: NAME` + `data: JSON`, a blank line ends a message, comment
// lines are keep-alives. Fed text in arbitrary chunks; returns the complete messages so far. Used by
// the CLI's API client (node/src/api/sse.ts) and the web UI (ui/src/api/http.ts).

export interface SseMessage {
  /** undefined when the message had no `event:` line. */
  event: string | undefined;
  data: string;
}

export class SseParser {
  private buffer = "";
  private event: string | undefined;
  private data: string[] = [];
  private size = 0;

  /**
   * @param maxMessageBytes a message (or an unfinished line) larger than this is refused: `tooLarge`
   *   makes the error thrown, so that each caller throws its own kind.
   */
  constructor(
    private readonly maxMessageBytes = Number.POSITIVE_INFINITY,
    private readonly tooLarge: (what: string) => Error = (what) => new Error(what),
  ) {}

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      // A lone "\r" at the end may be the first half of "\r\n": wait for more.
      if (!m || (m[0] === "\r" && m.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const message = this.line(line);
      if (message) out.push(message);
    }
    if (this.buffer.length > this.maxMessageBytes) throw this.tooLarge(`an event stream line is longer than ${this.maxMessageBytes} bytes`);
    return out;
  }

  /** The stream ended: a last line without its newline is read, but a message without its closing blank line is not dispatched (as the spec says). */
  end(): void {
    if (this.buffer !== "") this.line(this.buffer);
    this.buffer = "";
  }

  private line(text: string): SseMessage | undefined {
    if (text === "") {
      const done = this.data.length > 0 ? { event: this.event, data: this.data.join("\n") } : undefined;
      this.event = undefined;
      this.data = [];
      this.size = 0;
      return done;
    }
    if (text.startsWith(":")) return undefined;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    this.size += value.length;
    if (this.size > this.maxMessageBytes) throw this.tooLarge(`an event stream message is larger than ${this.maxMessageBytes} bytes`);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    return undefined;
  }
}
