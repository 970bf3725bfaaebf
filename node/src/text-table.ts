// The one way the CLI lays out a table: columns padded to their widest cell (counted in code points),
// two spaces apart, the last column unpadded, no trailing spaces. Cells hold peers' words (names,
// models, reasons): a cell is one line, so a line feed, tab or other control character in one is
// shown as U+FFFD, and a peer named "x\nh200   online …" cannot forge a row of its own.

import { replaceControlCharacters } from "@ripple-mesh/zome-bindings";

/** `text` on one line, its control characters (line feeds and tabs too) shown as U+FFFD. */
export function tableCell(text: string): string {
  return replaceControlCharacters(text, "\uFFFD");
}

/** Rows (the header first) as lines of aligned columns, each ending in "\n". */
export function textTable(rows: string[][]): string {
  const cells = rows.map((r) => r.map(tableCell));
  const width = (c: string) => [...c].length;
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ""))));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - width(c)))).join("  ").trimEnd() + "\n").join("");
}
