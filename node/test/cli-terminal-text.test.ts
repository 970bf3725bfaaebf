// terminal-text.ts: what the CLI prints of peers' text keeps lines and tabs and loses every control
// character a terminal would obey; its JSON parses back to the same value.
import { describe, expect, it } from "vitest";
import { terminalJson, terminalText } from "../src/cli/terminal-text.ts";
import { tableCell, textTable } from "../src/text-table.ts";
import { nodeName } from "../src/cli/options.ts";

describe("text for a terminal", () => {
  it("keeps \\n, \\t and every printable character (accents, CJK, emoji)", () => {
    const text = "Ottawa\tOntario\nÉcole 東京 🚀 ✓ é";
    expect(terminalText(text)).toBe(text);
  });

  it("shows each C0 (but \\n and \\t), DEL and C1 character as U+FFFD, one for one", () => {
    for (let code = 0; code <= 0x9f; code++) {
      const c = String.fromCharCode(code);
      const control = code < 0x20 || code >= 0x7f;
      const kept = !control || c === "\n" || c === "\t";
      expect(terminalText(`a${c}b`), `U+${code.toString(16)}`).toBe(kept ? `a${c}b` : "a\uFFFDb");
    }
    expect(terminalText("\x1b]8;;https://evil.example\x07alice\x1b]8;;\x07")).toBe("\uFFFD]8;;https://evil.example\uFFFDalice\uFFFD]8;;\uFFFD");
    // A CRLF line end is a line end; a lone carriage return (which would overwrite the line) is not.
    expect(terminalText("one\r\ntwo\rthree")).toBe("one\ntwo\uFFFDthree");
  });

  it("JSON escapes DEL and C1 as well as C0, and parses back to the same value", () => {
    const value = { name: "a\x1b[2Jb\u009b1m\x7f", n: 3 };
    const json = terminalJson(value);
    expect(json).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(json).toContain("\\u009b");
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe("a table cell", () => {
  it("is one line: a peer's name with a line feed cannot forge a row; columns align by code points", () => {
    const out = textTable([
      ["NAME", "STATE", "TOK/S"],
      ["x\nh200-fast   online  1000000", "online", "12"],
      ["東京🚀", "offline", "3"],
    ]);
    const lines = out.split("\n");
    expect(lines).toHaveLength(4); // three rows and the final ""
    expect(lines[1]).toBe("x\uFFFDh200-fast   online  1000000  online   12");
    expect(lines[2]).toBe("東京🚀                            offline  3");
    expect(lines[0]).toBe("NAME                           STATE    TOK/S");
    expect(tableCell("a\tb\rc\u009bd")).toBe("a\uFFFDb\uFFFDc\uFFFDd");
  });
});

describe("the name a node shows its peers (ripple up --name)", () => {
  it("takes 1 to 64 bytes of UTF-8 without control characters, as agent_registry does", () => {
    expect(nodeName("École-東京-🚀")).toBe("École-東京-🚀");
    expect(nodeName("n".repeat(64))).toBe("n".repeat(64));
    // 33 two-byte characters: 66 bytes, under 64 characters, refused here rather than by every peer's validation.
    expect(() => nodeName("é".repeat(33))).toThrow(/1 to 64 bytes of UTF-8, got 66/);
    expect(() => nodeName("")).toThrow(/got 0/);
    for (const bad of ["a\u001b]52;c;aGk=\u0007", "two\nlines", "del\u007f", "c1\u009b2J"]) {
      expect(() => nodeName(bad)).toThrow(/control characters/);
    }
  });
});
