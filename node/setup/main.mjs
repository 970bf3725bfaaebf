#!/usr/bin/env node
// Idempotent setup for Ripple Mesh. Plain Node with no npm dependency, because it is what installs
// the npm dependencies. `npm start` and `npm test` run it first; run it alone with `npm run setup`.
//   --check   report what is missing, change nothing (exit 1 when something is)
import { SetupError } from "./errors.mjs";
import { say } from "./progress.mjs";
import { runSteps } from "./steps.mjs";
import { npmStep } from "./step-npm.mjs";
import { debianStep } from "./step-debian.mjs";
import { toolchainStep } from "./step-toolchain.mjs";
import { wasmStep } from "./step-wasm.mjs";
import { happStep } from "./step-happ.mjs";
import { defaultModelStep, gemmaModelStep, smolModelStep, tinyModelStep } from "./step-models.mjs";
import { uiStep } from "./step-ui.mjs";

// npm first: later steps validate versions.json with zod.
const steps = [npmStep, debianStep, toolchainStep, wasmStep, happStep, tinyModelStep, defaultModelStep, gemmaModelStep, smolModelStep, uiStep];

const checkOnly = process.argv.includes("--check");
try {
  const outcomes = await runSteps(steps, { checkOnly });
  const missing = outcomes.filter((o) => o.status === "missing");
  if (missing.length) {
    say(`missing: ${missing.map((o) => o.step).join(", ")}; run \`npm run setup\``);
    process.exit(1);
  }
} catch (err) {
  if (err instanceof SetupError || (err instanceof Error && err.name === "VersionsManifestError")) {
    process.stderr.write(`\n[setup] ✗ ${err.message}\n`);
  } else {
    process.stderr.write(`\n[setup] ✗ unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  process.exit(1);
}
