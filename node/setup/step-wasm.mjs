// Step: a Rust toolchain that can build wasm32 zomes (rustup target, else Debian's packages).
import { SetupError } from "./errors.mjs";
import { addRustupTarget, findWasmToolchain } from "./wasm-toolchain.mjs";
import { aptInstall, missingDebianPackages } from "./step-debian.mjs";
import { versionsFile } from "../src/config/paths.mjs";
import { say } from "./progress.mjs";

/** @type {import("./steps.mjs").Step} */
export const wasmStep = {
  name: "wasm Rust toolchain",
  async check() {
    const toolchain = await findWasmToolchain();
    return toolchain ? `${toolchain.mode}: ${toolchain.rustcVersion}` : null;
  },
  async run() {
    if (await addRustupTarget()) {
      const toolchain = await findWasmToolchain();
      if (toolchain) return `rustup target added (${toolchain.rustcVersion})`;
    }
    say("  rustup could not add the wasm32 target; falling back to Debian's Rust (rustc-web + build-std)");
    const { loadVersions } = await import("../src/config/versions-schema.mjs");
    const packages = loadVersions(versionsFile).wasmToolchain.debianFallbackPackages;
    const missing = await missingDebianPackages(packages);
    if (missing.length) await aptInstall(missing);
    const toolchain = await findWasmToolchain();
    if (!toolchain) {
      throw new SetupError(
        "no Rust toolchain can build wasm32-unknown-unknown (rustup failed and Debian's rustc-web is incomplete)",
        `run \`rustup target add wasm32-unknown-unknown\`, or \`apt-get install ${packages.join(" ")}\`, then run setup again`,
      );
    }
    return `Debian fallback (${toolchain.rustcVersion})`;
  },
};
