// models.json, the node's model registry file: its schema, a read that names the file and key of
// anything wrong (no GGUF file is ever touched), and an atomic write.
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { z } from "zod";
import { modelNameSchema } from "../config/versions-schema.mjs";
import { RippleError } from "../errors.ts";

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256");

const storedModelSchema = z.strictObject({
  name: modelNameSchema,
  file: z.string().refine(isAbsolute, "an absolute path"),
  sha256: sha256Schema,
  bytes: z.number().int().nonnegative(),
  mtimeMs: z.number().nonnegative(),
});
export type StoredModel = z.infer<typeof storedModelSchema>;

const registrySchema = z
  .strictObject({ schema: z.literal(1), models: z.array(storedModelSchema).max(10_000) })
  .superRefine((reg, ctx) => {
    const seen = new Set<string>();
    for (const [i, m] of reg.models.entries()) {
      if (seen.has(m.name)) ctx.addIssue({ code: "custom", path: ["models", i, "name"], message: `"${m.name}" is registered twice` });
      seen.add(m.name);
    }
  });

/** models.json cannot be read, parsed or written. Names the file; no GGUF file is ever touched. */
export class ModelRegistryError extends RippleError {
  constructor(
    readonly file: string,
    detail: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, fix, options);
  }
}

/** null when there is no models.json yet; a ModelRegistryError naming the file and key when it is unusable. */
export function readRegistry(file: string): StoredModel[] | null {
  const fix =
    `correct it, or move it aside (\`mv ${file} ${file}.bad\`): the node then registers the pinned models again, ` +
    "and others are re-added with `ripple models add <file.gguf> --name <name>` (no GGUF file is touched)";
  return readValidatedJson(file, registrySchema, "a valid model registry", fix)?.models ?? null;
}

/**
 * A small JSON file of the model store, parsed and validated: null when it does not exist; else a
 * ModelRegistryError naming the file, what it should be and the first offending key, with `fix`.
 */
export function readValidatedJson<T>(file: string, schema: z.ZodType<T>, shouldBe: string, fix: string): T | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ModelRegistryError(file, `cannot read it (${errText(err)})`, `check its permissions (\`ls -l ${file}\`)`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelRegistryError(file, `is not valid JSON (${(err as Error).message})`, fix, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new ModelRegistryError(file, `is not ${shouldBe}: key ${where}: ${issue?.message}`, fix);
  }
  return parsed.data;
}

/** Write to a temporary file, fsync, rename: readers see the old registry or the new one, never half. */
export function writeRegistry(file: string, models: StoredModel[]): void {
  writeFileAtomically(file, JSON.stringify({ schema: 1, models: [...models].sort((a, b) => a.name.localeCompare(b.name)) }, null, 2) + "\n");
}

/** `body` into `file` (mode 0644) through a temporary file, fsync and rename; a ModelRegistryError naming it. */
export function writeFileAtomically(file: string, body: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, "wx", 0o644);
    try {
      fchmodSync(fd, 0o644); // whatever the umask
      writeFileSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ModelRegistryError(file, `cannot write it (${errText(err)})`, `check that ${dirname(file)} is writable and has room`, { cause: err });
  }
}

/** An fs error's code (ENOENT, EACCES…), or the error itself when it has none. */
export function errText(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
