// The pinned toolchain: where its binaries are, and a check of each against versions.json.
import { join } from "node:path";
import { checkAllBinaries, checkBinary, BinaryCheckError } from "./binaries.mjs";
import { binDir, versionsFile } from "./paths.mjs";
import { loadVersions, VersionsManifestError } from "./versions-schema.mjs";

export { BinaryCheckError, VersionsManifestError, loadVersions };

export type Versions = ReturnType<typeof loadVersions>;
export type BinaryName = keyof Versions["binaries"];

export interface Toolchain {
  binDir: string;
  path(name: BinaryName): string;
}

/** Resolve the toolchain directory and check the named binaries (all by default) against their pins. */
export async function checkToolchain(
  opts: { binDir?: string; versionsFile?: string; only?: BinaryName[] } = {},
): Promise<Toolchain> {
  const dir = opts.binDir ?? binDir();
  const pins = loadVersions(opts.versionsFile ?? versionsFile).binaries;
  if (opts.only) {
    for (const name of opts.only) await checkBinary(join(dir, name), pins[name]);
  } else {
    await checkAllBinaries(dir, pins);
  }
  return { binDir: dir, path: (name) => join(dir, name) };
}
