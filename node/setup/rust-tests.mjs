// Host-side Rust tests (part of `npm test`): the integrity zomes' `validate` callbacks with
// hdi's test_utils (ripple_test_hdi), and the msgpack test vectors shared with TypeScript.
// Counts go to workdir/rust-test-results.json for the CI summary.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot } from "../src/config/paths.mjs";
import { findWasmToolchain } from "./wasm-toolchain.mjs";

const crates = ["agent_registry_integrity", "resource_mesh_integrity", "artifact_index_integrity", "ripple_test_vectors"];
export const rustResultsFile = join(repoRoot, "workdir", "rust-test-results.json");

const toolchain = await findWasmToolchain();
const cargo = toolchain?.cargo ?? "cargo";
// The wasm flags (getrandom backend, build-std) are for the zomes' wasm build, not host tests.
const { RUSTFLAGS: _wasmFlags, ...env } = toolchain?.env ?? process.env;
const args = ["test", "--tests", ...crates.flatMap((c) => ["-p", c])];
console.log(`[rust-tests] cargo ${args.join(" ")}`);

const child = spawn(cargo, args, { cwd: join(repoRoot, "dnas"), env, stdio: ["ignore", "pipe", "inherit"] });
const totals = { passed: 0, failed: 0, ignored: 0 };
let pending = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  pending += chunk;
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const m = /^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/.exec(line);
    if (m) {
      totals.passed += Number(m[1]);
      totals.failed += Number(m[2]);
      totals.ignored += Number(m[3]);
    }
  }
});
const code = await new Promise((resolve) => child.on("close", resolve));
mkdirSync(dirname(rustResultsFile), { recursive: true });
writeFileSync(rustResultsFile, JSON.stringify({ ...totals, exitCode: code }) + "\n");
console.log(`[rust-tests] ${totals.passed} passed, ${totals.failed} failed, ${totals.ignored} ignored (cargo exited ${code})`);
process.exit(code === 0 ? 0 : 1);
