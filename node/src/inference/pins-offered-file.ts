// `<dataDir>/pins-offered.json`: the pinned models (versions.json `models`, by file name) this
// node's model store has already registered once. A pin not in it is registered when setup has
// installed it (an upgrade that adds an expert's model); a pin in it is left alone, so a model the
// user unregistered (`ripple models rm`) stays unregistered. Its own file, not a key of
// models.json, so that an older build (strict about models.json) still starts after a rollback.
import { join } from "node:path";
import { z } from "zod";
import { readValidatedJson, writeFileAtomically } from "./model-registry-file.ts";

const offeredSchema = z.strictObject({
  schema: z.literal(1),
  files: z.array(z.string().regex(/^[\w.-]+\.gguf$/, "a pinned model's file name")).max(1_000),
});

/**
 * The pins of the builds before this file existed: a models.json written by one of them had been
 * offered these (on its first start), so they are not registered again after an upgrade.
 */
const PINS_BEFORE_THIS_FILE = ["qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "gemma-3-270m-q4_k_m.gguf", "ripple-tiny-test.gguf"];

function pinsOfferedFile(dataDir: string): string {
  return join(dataDir, "pins-offered.json");
}

/** The pins offered so far; without the file: none on a first start, the older builds' pins otherwise. */
export function readPinsOffered(dataDir: string, registryExisted: boolean): Set<string> {
  const file = pinsOfferedFile(dataDir);
  const fix = `delete it (\`rm ${file}\`): the node then treats the pinned models of older builds as offered`;
  const offered = readValidatedJson(file, offeredSchema, "a list of offered pins", fix);
  return new Set(offered?.files ?? (registryExisted ? PINS_BEFORE_THIS_FILE : []));
}

export function writePinsOffered(dataDir: string, files: Set<string>): void {
  writeFileAtomically(pinsOfferedFile(dataDir), JSON.stringify({ schema: 1, files: [...files].sort() }, null, 2) + "\n");
}
