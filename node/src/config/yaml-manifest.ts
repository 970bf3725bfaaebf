// Reading a YAML manifest that a zod schema validates (the distributed policies), with one error
// that names the file and the first offending key, like the JSON manifests.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { z } from "zod";
import { validateManifest } from "./json-manifest.mjs";

/** Manifests are small; anything larger is a mistake (or an attack through a shared policy file). */
const MAX_MANIFEST_BYTES = 256 * 1024;

/** The explicit file, else the node's own copy `DATA_DIR/<fileName>` when present, else the shipped default. */
export function nodeManifestFile(dataDir: string, fileName: string, defaultFile: string, explicit?: string): string {
  if (explicit) return explicit;
  const own = join(dataDir, fileName);
  return existsSync(own) ? own : defaultFile;
}

export function loadYamlManifest<T extends z.ZodType>(file: string, schema: T, error: (detail: string, cause?: unknown) => Error): z.infer<T> {
  let raw: unknown;
  try {
    const text = readFileSync(file, "utf8");
    if (text.length > MAX_MANIFEST_BYTES) throw new Error(`it is ${text.length} bytes, over the limit of ${MAX_MANIFEST_BYTES}`);
    raw = parse(text, { maxAliasCount: 100 });
  } catch (cause) {
    throw error(cause instanceof Error ? cause.message : String(cause), cause);
  }
  return validateManifest(raw, schema, error) as z.infer<T>;
}
