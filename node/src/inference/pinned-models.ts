// The models setup installs (versions.json `models`) as the model store finds them in the models
// directory: which pins are installed there as the pinned file, each as the entry models.json would
// hold. Reading only; the store decides what to register (model-store.ts registerPinned).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { verifiedSha256 } from "../config/hashing.mjs";
import { loadVersions } from "../config/versions-schema.mjs";
import type { Logger } from "../log.ts";
import { hashFile, hasGgufMagic } from "./gguf-file.ts";
import type { StoredModel } from "./model-registry-file.ts";

/** A pinned model; only the big ones carry a sha256 and size pin (the tiny test model is generated). */
export interface Pin {
  name: string;
  file: string;
  sha256?: string;
  bytes?: number;
}

export function loadPins(versionsFile: string): Pin[] {
  return Object.values(loadVersions(versionsFile).models);
}

/**
 * The installed pins among `pins`, each with its models.json entry. A file with another size or
 * sha256 than pinned, or that is not GGUF, is skipped with a warning naming the fix; the sha256
 * comes from setup's stamp when it is fresh, else from hashing the file.
 */
export async function installedPins(pins: Pin[], modelsDir: string, log: Logger): Promise<Array<{ pin: Pin; entry: StoredModel }>> {
  const found: Array<{ pin: Pin; entry: StoredModel }> = [];
  for (const pin of pins) {
    const entry = await installedPin(pin, modelsDir, log);
    if (entry) found.push({ pin, entry });
  }
  return found;
}

async function installedPin(pin: Pin, modelsDir: string, log: Logger): Promise<StoredModel | undefined> {
  const file = join(modelsDir, pin.file);
  if (!existsSync(file)) {
    log.debug({ model: pin.name, file }, "pinned model not installed here");
    return undefined;
  }
  const st = statSync(file);
  if (!hasGgufMagic(file) || (pin.bytes !== undefined && st.size !== pin.bytes)) {
    log.warn({ model: pin.name, file, bytes: st.size, pinned: pin.bytes }, `not registering "${pin.name}": ${file} is not the pinned GGUF file (run \`npm run setup\`)`);
    return undefined;
  }
  const stamped = verifiedSha256(file);
  const sha256 = stamped ?? (await hashFile(file, log));
  if (pin.sha256 !== undefined && sha256 !== pin.sha256) {
    log.warn({ model: pin.name, file, sha256, pinned: pin.sha256 }, `not registering "${pin.name}": ${file} is not the pinned file (run \`npm run setup\`)`);
    return undefined;
  }
  log.debug({ model: pin.name, file, sha256, from: stamped ? "setup stamp" : "hashed" }, `pinned model "${pin.name}" is installed`);
  return { name: pin.name, file, sha256, bytes: st.size, mtimeMs: st.mtimeMs };
}
