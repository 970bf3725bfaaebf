// The node's data directory: created 0700 when missing, and checked writable up front, so that a
// directory the user cannot write is one clear error instead of a conductor failing half-way.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RippleError } from "../errors.ts";

export class DataDirError extends RippleError {}

export function ensureWritableDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new DataDirError(
      `cannot use ${dir} as the data directory (${code}: ${(err as Error).message.replace(/^\w+: /, "")})`,
      `choose a directory you can write with --data-dir DIR, or fix its permissions (\`ls -ld ${dir}\`)`,
      { cause: err },
    );
  }
}
