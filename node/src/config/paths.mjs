// Where setup reads and writes. Everything outside the checkout lives under one cache directory so
// that a fresh clone reuses slow downloads and builds (toolchain binaries, model files).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The checkout: the nearest folder above this module whose package.json is the workspace root's.
 * Found by walking up rather than a fixed "../../..", because this module also runs from the
 * `ripple` command's bundle (node/.build/, node/bin/cli-bundle.mjs). RIPPLE_REPO_ROOT names it
 * instead where the code runs bundled outside any checkout (the GPU run: node/bench/gpu-run.sh).
 */
function findRepoRoot(from) {
  if (process.env.RIPPLE_REPO_ROOT) return resolve(process.env.RIPPLE_REPO_ROOT);
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "ripple-mesh") return dir;
    if (dirname(dir) === dir) throw new Error(`no ripple-mesh checkout above ${from}`);
  }
}

export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

export function cacheDir(env = process.env) {
  if (env.RIPPLE_CACHE_DIR) return resolve(env.RIPPLE_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(xdg, "ripple-mesh");
}

/** Toolchain binaries (holochain, hc-dna, hc-app, kitsune2-bootstrap-srv, ipfs). */
export function binDir(env = process.env) {
  return env.RIPPLE_BIN_DIR ? resolve(env.RIPPLE_BIN_DIR) : join(cacheDir(env), "bin");
}

/** The node's models directory (GGUF files). */
export function modelsDir(env = process.env) {
  return env.RIPPLE_MODELS_DIR ? resolve(env.RIPPLE_MODELS_DIR) : join(repoRoot, "workdir", "models");
}

export const versionsFile = join(repoRoot, "manifests", "holochain", "versions.json");
export const happFile = join(repoRoot, "happ", "ripple.happ");
/** Test-only twin of the hApp with forging coordinators (dnas/rogue). */
export const rogueHappFile = join(repoRoot, "dnas", "rogue", "ripple-rogue.happ");
export const setupReportFile = join(repoRoot, "workdir", "setup-report.json");
