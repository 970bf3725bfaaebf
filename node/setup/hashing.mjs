// sha256 of files, streamed (models are ~0.5 GB), with optional progress.
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { join } from "node:path";

/**
 * @param {string} file
 * @param {(done: number, total: number) => void} [onProgress]
 * @returns {Promise<string>} lowercase hex
 */
export async function sha256File(file, onProgress) {
  const total = statSync(file).size;
  const hash = createHash("sha256");
  let done = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk);
    done += chunk.length;
    onProgress?.(done, total);
  }
  return hash.digest("hex");
}

/** sha256 over several files' relative paths and contents, in the given order. */
export async function sha256Files(root, relativePaths) {
  const hash = createHash("sha256");
  for (const file of relativePaths) {
    hash.update(file);
    hash.update(await sha256File(join(root, file)));
  }
  return hash.digest("hex");
}
