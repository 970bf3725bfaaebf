// A GGUF file on disk as the model store checks it: the format's magic bytes, and its sha256
// (streamed, with progress for big files).
import { closeSync, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { sha256File } from "../config/hashing.mjs";
import type { Logger } from "../log.ts";

/** Hashing a file at least this big logs its progress (every 10 %). */
const PROGRESS_MIN_BYTES = 64 * 2 ** 20;

export function hasGgufMagic(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString("latin1") === "GGUF";
  } finally {
    closeSync(fd);
  }
}

/** Streamed sha256; for big files, an info log line every 10 %. */
export async function hashFile(file: string, log: Logger): Promise<string> {
  let next = 10;
  const started = Date.now();
  const sha = await sha256File(file, (done, total) => {
    if (total < PROGRESS_MIN_BYTES) return;
    const percent = Math.floor((done / total) * 100);
    if (percent < next) return;
    next = percent - (percent % 10) + 10;
    log.info({ file, percent, doneMB: Math.round(done / 1e6), totalMB: Math.round(total / 1e6) }, `hashing ${basename(file)}: ${percent}%`);
  });
  log.debug({ file, ms: Date.now() - started }, "hashed");
  return sha;
}
