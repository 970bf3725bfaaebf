// The CLI bundle is written as ASCII (cli-bundle.mjs says why: V8 keeps the source as a one-byte
// string then, half the memory), and escaping changes no value the code computes.
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { asciiOnly } from "../bin/cli-bundle.mjs";

describe("the CLI bundle's ASCII escape", () => {
  const source = [
    "// a comment with an em dash — and “quotes”",
    'const s = "Tipus d\'unió invàlid € 😀";',
    "const t = `template ‘${s.length}’`;",
    'const r = "it’s “fine”".replace(/[‘’‚‛′]/g, "\'").replace(/[“”„‟″]/g, \'"\');',
    'const m = /^[$€£]?(\\d+)/.exec("€42")?.[1];',
    'const u = "😀x".replace(/😀/u, "smile");',
    "({ s, t, r, m, u })",
  ].join("\n");

  it("leaves no character outside ASCII", () => {
    expect(asciiOnly(source)).toMatch(/^[\x00-\x7f]*$/);
    expect(source).not.toMatch(/^[\x00-\x7f]*$/);
  });

  it("refuses a non-ASCII character after a backslash, whose escape would mean something else", () => {
    expect(() => asciiOnly('const s = "caf\\é";')).toThrow(/backslash before a non-ASCII character at offset 14/);
  });

  it("computes the same strings, templates and regular-expression results", () => {
    const before = runInNewContext(source);
    expect(runInNewContext(asciiOnly(source))).toEqual(before);
    expect(before).toMatchObject({ r: "it's \"fine\"", m: "42", u: "smilex" });
  });
});
