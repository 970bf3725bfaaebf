// Checks a toolchain binary against its pin in versions.json. Shared by setup (to decide what to
// install) and the daemon (to refuse to start with a missing or wrong binary).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Names the binary, what is wrong with it, and how to fix it. */
export class BinaryCheckError extends Error {
  constructor(file, problem, options) {
    super(
      `${file}: ${problem}. Fix: run \`npm run setup\` (it installs the pinned toolchain; set ` +
        `RIPPLE_TOOLCHAIN_DIR to a directory of prebuilt archives to skip the build), or point ` +
        `RIPPLE_BIN_DIR at a directory holding the pinned binaries.`,
      options,
    );
    this.name = "BinaryCheckError";
    this.file = file;
  }
}

/**
 * Run the binary's version command and compare with the pin.
 * @param {string} file path of the binary
 * @param {{versionCommand: string[], versionOutput: string}} pin
 * @returns {Promise<void>} resolves when the binary exists and reports the pinned version
 */
export function checkBinary(file, pin) {
  if (!existsSync(file)) return Promise.reject(new BinaryCheckError(file, "not found"));
  return new Promise((resolve, reject) => {
    execFile(file, pin.versionCommand, { timeout: 10_000 }, (err, stdout) => {
      if (err) {
        reject(new BinaryCheckError(file, `could not run \`${pin.versionCommand.join(" ")}\`: ${err.message}`, { cause: err }));
        return;
      }
      const got = stdout.trim().split("\n")[0];
      if (got !== pin.versionOutput) {
        reject(new BinaryCheckError(file, `reports "${got}", expected "${pin.versionOutput}" (the pin in manifests/holochain/versions.json)`));
        return;
      }
      resolve();
    });
  });
}

/**
 * Check every pinned binary in `dir`.
 * @param {string} dir
 * @param {Record<string, {versionCommand: string[], versionOutput: string}>} pins
 */
export async function checkAllBinaries(dir, pins) {
  for (const [name, pin] of Object.entries(pins)) await checkBinary(join(dir, name), pin);
}
