// Reading a JSON manifest that a zod schema validates, with one error that names the file and the
// first offending key. Shared by versions.json, networks.json and dnas/index.json.
import { readFileSync } from "node:fs";

/**
 * @template T
 * @param {string} file
 * @param {import("zod").ZodType<T>} schema
 * @param {(detail: string, cause?: unknown) => Error} error builds the error to throw
 * @returns {T}
 */
export function loadJsonManifest(file, schema, error) {
  let raw;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw error(cause instanceof Error ? cause.message : String(cause), cause);
  }
  return validateManifest(raw, schema, error);
}

/**
 * Validate an already-parsed manifest (JSON or YAML); the error names the first offending key.
 * @template T
 * @param {unknown} raw
 * @param {import("zod").ZodType<T>} schema
 * @param {(detail: string, cause?: unknown) => Error} error
 * @returns {T}
 */
export function validateManifest(raw, schema, error) {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw error(`key ${where}: ${issue?.message}`);
  }
  return parsed.data;
}
