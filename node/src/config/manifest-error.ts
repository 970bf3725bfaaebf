// A manifest (JSON or YAML) that is missing or does not match its schema: one error shape for all of
// them, naming the file, the offending key and how to fix it.
import { RippleError } from "../errors.ts";

export class ManifestError extends RippleError {
  constructor(
    readonly file: string,
    what: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file} is not a valid ${what}: ${detail}`, `correct the named key (or restore the file with \`git checkout -- ${file}\`)`, options);
  }
}
