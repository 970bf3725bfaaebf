// sha256 of files, streamed (models are ~0.5 GB), with optional progress; and the stamps that let a
// verified file skip re-hashing (setup writes them, the model store reads them).
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
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

/** A verified-file stamp: the sha256 was checked for this exact size and mtime. */
export function stampPath(file) {
  return `${file}.verified.json`;
}

/**
 * The sha256 that `<file>.verified.json` records, when the stamp was written for the file's current
 * size and mtime; otherwise (no file, no stamp, stale or unreadable stamp) null. The daemon's model
 * store reads it too, to skip re-hashing files setup has just verified.
 * @param {string} file
 * @returns {string | null}
 */
export function verifiedSha256(file) {
  if (!existsSync(file) || !existsSync(stampPath(file))) return null;
  const st = statSync(file);
  try {
    const stamp = JSON.parse(readFileSync(stampPath(file), "utf8"));
    const fresh = stamp.size === st.size && stamp.mtimeMs === st.mtimeMs && typeof stamp.sha256 === "string";
    return fresh ? stamp.sha256 : null;
  } catch {
    return null;
  }
}
export function stampMatches(file, sha256) {
  return verifiedSha256(file) === sha256;
}
export function writeStamp(file, sha256) {
  const st = statSync(file);
  writeFileSync(stampPath(file), JSON.stringify({ sha256, size: st.size, mtimeMs: st.mtimeMs }) + "\n");
}
