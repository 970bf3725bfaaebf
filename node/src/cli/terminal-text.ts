// What the CLI prints carries peers' words: names, model names, answers, streamed tokens, refusal
// reasons, errors. A terminal obeys the escape sequences in such text (OSC 52 writes the clipboard,
// CSI sequences clear the screen or move the cursor over earlier lines, OSC 8 makes a link whose
// target is hidden), so text meant for a terminal keeps line feeds and tabs and shows every other
// C0 and C1 control character, and DEL, as U+FFFD. The CLI itself prints no escape sequences.

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` with every control character but \n and \t shown as U+FFFD (a CRLF becomes \n). */
export function terminalText(text: string): string {
  // A CRLF line end (model output, a text artifact) is a line end, not a stray carriage return.
  return text.replace(/\r\n/g, "\n").replace(CONTROL, "\uFFFD");
}

/**
 * JSON for stdout: JSON.stringify already escapes C0 characters in strings; DEL and C1 are escaped
 * too (as \u007f…\u009f), so the parsed value is unchanged and the terminal sees none of them.
 */
export function terminalJson(value: unknown): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
