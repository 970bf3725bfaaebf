// Server-sent events read from a fetch() body: the daemon streams MOE progress and tokens this way
// (`event: NAME` + `data: JSON`, a blank line ends a message; comment lines are keep-alives).
// Fed text in arbitrary chunks; returns the complete messages so far.

export interface SseMessage {
  event: string | undefined;
  data: string;
}

export class SseParser {
  private buffer = "";
  private event: string | undefined;
  private data: string[] = [];

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
    return out;
  }

  private line(text: string): SseMessage | undefined {
    if (text === "") {
      const done = this.data.length > 0 ? { event: this.event, data: this.data.join("\n") } : undefined;
      this.event = undefined;
      this.data = [];
      return done;
    }
    if (text.startsWith(":")) return undefined;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    return undefined;
  }
}
