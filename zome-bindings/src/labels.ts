// Labels: the names and short texts people read (peers' names, models, artifact names, trace ids).
// The integrity zomes refuse a label holding a control character (C0, line feeds and tabs too, DEL
// and C1: Rust's char::is_control, ripple_integrity_common's bad_label), since a terminal acts on
// them; the daemon and CLI use the same test for what they show and publish.

// eslint-disable-next-line no-control-regex
const EVERY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** A text with no control character in it (for schemas that take a pattern, such as MCP tools' inputs). */
// eslint-disable-next-line no-control-regex
export const LABEL_PATTERN = /^[^\u0000-\u001f\u007f-\u009f]*$/;

export function hasControlCharacter(text: string): boolean {
  return !LABEL_PATTERN.test(text);
}

/** `text` with each control character replaced by `by`. */
export function replaceControlCharacters(text: string, by: string): string {
  return text.replace(EVERY_CONTROL, by);
}

export const NO_CONTROL_CHARACTERS = "must not contain control characters (U+0000..U+001F, U+007F..U+009F)";
