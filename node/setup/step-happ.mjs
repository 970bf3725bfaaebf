// Step: compile the zomes to wasm and pack the DNAs and happ/ripple.happ. Skipped when the zome
// sources, manifests and compiler are the same as for the last build (their hash is the stamp).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { SetupError } from "./errors.mjs";
import { run } from "./exec.mjs";
import { sha256Files } from "../src/config/hashing.mjs";
import { binDir, happFile, repoRoot } from "../src/config/paths.mjs";
import { findWasmToolchain } from "./wasm-toolchain.mjs";

const dnasDir = join(repoRoot, "dnas");
const happDir = join(repoRoot, "happ");
const rogueDir = join(dnasDir, "rogue");
const stampFile = join(happDir, ".build-inputs.sha256");

/** Every file the build reads: zome sources, Cargo files, DNA and hApp manifests. */
function buildInputs(dir = dnasDir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "target") files.push(...buildInputs(path));
    } else if (!entry.name.endsWith(".dna")) {
      files.push(path);
    }
  }
  return files.sort();
}

/** The DNA working directories (each holds a dna.yaml). */
export function dnaWorkdirs() {
  return readdirSync(dnasDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dnasDir, e.name, "workdir", "dna.yaml")))
    .map((e) => join(dnasDir, e.name, "workdir"));
}

async function inputsHash(toolchain) {
  const files = [...buildInputs(), join(happDir, "happ.yaml")].map((f) => relative(repoRoot, f));
  const contents = await sha256Files(repoRoot, files);
  return createHash("sha256").update(`${toolchain.mode}\n${toolchain.rustcVersion}\n${contents}`).digest("hex");
}

async function requireToolchain() {
  const toolchain = await findWasmToolchain();
  if (!toolchain) {
    throw new SetupError("no wasm Rust toolchain is installed", "run `npm run setup` so that the wasm toolchain step installs one");
  }
  return toolchain;
}

/** @type {import("./steps.mjs").Step} */
export const happStep = {
  name: "DNAs and happ/ripple.happ",
  async check() {
    if (!existsSync(happFile) || !existsSync(stampFile)) return null;
    const hash = await inputsHash(await requireToolchain());
    return readFileSync(stampFile, "utf8").trim() === hash ? `${relative(repoRoot, happFile)} is up to date` : null;
  },
  async run() {
    const toolchain = await requireToolchain();
    await run(toolchain.cargo, toolchain.args, {
      cwd: dnasDir,
      env: toolchain.env,
      fix: "read the compiler errors above; fix the zome sources and run setup again",
    });
    for (const workdir of dnaWorkdirs()) {
      await run(join(binDir(), "hc-dna"), ["pack", workdir], { capture: true });
    }
    await run(join(binDir(), "hc-app"), ["pack", happDir], { capture: true });
    // The rogue twins (same integrity zomes, forging coordinators) for the rogue-peer tests.
    for (const dna of ["agent_registry", "resource_mesh"]) {
      await run(join(binDir(), "hc-dna"), ["pack", join(rogueDir, dna)], { capture: true });
    }
    await run(join(binDir(), "hc-app"), ["pack", rogueDir], { capture: true });
    writeFileSync(stampFile, (await inputsHash(toolchain)) + "\n");
    return `${relative(repoRoot, happFile)} (${(statSync(happFile).size / 1e6).toFixed(2)} MB, ${toolchain.mode} ${toolchain.rustcVersion})`;
  },
};
