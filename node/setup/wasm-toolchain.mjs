// The Rust toolchain that compiles zomes to wasm32. rustup's target when rustup can add it;
// otherwise Debian's rustc-web + build-std (DESIGN.md). The two give different wasm bytes, so the
// one in use is part of the hApp build's identity.
import { existsSync } from "node:fs";
import { run } from "./exec.mjs";

const target = "wasm32-unknown-unknown";
const getrandom = '--cfg getrandom_backend="custom"';

/**
 * @typedef {{mode: "rustup" | "debian", cargo: string, args: string[], env: NodeJS.ProcessEnv, rustcVersion: string}} WasmToolchain
 */

async function rustupHasTarget() {
  try {
    const { stdout } = await run("rustup", ["target", "list", "--installed"], { capture: true });
    return stdout.split("\n").includes(target);
  } catch {
    return false;
  }
}

async function rustcVersion(rustc, env) {
  const { stdout } = await run(rustc, ["--version"], { capture: true, env });
  return stdout.trim();
}

/** @returns {Promise<WasmToolchain | null>} the toolchain to build with, or null when none is ready */
export async function findWasmToolchain() {
  if (await rustupHasTarget()) {
    const env = { ...process.env, RUSTFLAGS: getrandom };
    return { mode: "rustup", cargo: "cargo", args: ["build", "--release", "--target", target], env, rustcVersion: await rustcVersion("rustc", env) };
  }
  if (existsSync("/usr/bin/rustc") && existsSync("/usr/bin/cargo") && existsSync("/usr/lib/rustlib/src/rust/library")) {
    const env = {
      ...process.env,
      // rustup's ~/.cargo/bin would otherwise shadow Debian's tools.
      PATH: `/usr/bin:${process.env.PATH}`,
      RUSTC: "/usr/bin/rustc",
      // build-std needs nightly features; without this it fails on the first user crate.
      RUSTC_BOOTSTRAP: "1",
      // Debian's wasm target lacks --allow-undefined.
      RUSTFLAGS: `-C link-arg=--import-undefined ${getrandom}`,
    };
    return {
      mode: "debian",
      cargo: "/usr/bin/cargo",
      args: ["build", "--release", "-Zbuild-std=std,panic_abort", "--target", target],
      env,
      rustcVersion: await rustcVersion("/usr/bin/rustc", env),
    };
  }
  return null;
}

/** Try rustup's wasm target; rustup's server is not always reachable, so this may fail. */
export async function addRustupTarget() {
  try {
    await run("rustup", ["target", "add", target], { timeoutMs: 300_000 });
    return true;
  } catch {
    return false;
  }
}
