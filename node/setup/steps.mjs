// Runs setup steps in order. Each step first checks whether its result is already there (then it
// is skipped, cheaply) and otherwise does the work. The outcome of each step, with its wall time,
// is printed and written to workdir/setup-report.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { setupReportFile } from "../src/config/paths.mjs";
import { say } from "./progress.mjs";

/**
 * @typedef {object} Step
 * @property {string} name
 * @property {() => Promise<string | null>} check what is already there, or null when work is needed
 * @property {() => Promise<string | void>} run does the work; returns what it did
 */

/**
 * @typedef {{step: string, status: "skipped" | "done" | "missing", seconds: number, detail: string}} StepOutcome
 */

/**
 * @param {Step[]} steps
 * @param {{checkOnly?: boolean}} [opts] with checkOnly, report what is missing and change nothing
 * @returns {Promise<StepOutcome[]>}
 */
export async function runSteps(steps, opts = {}) {
  /** @type {StepOutcome[]} */
  const outcomes = [];
  try {
    for (const step of steps) {
      const started = Date.now();
      const seconds = () => Math.round((Date.now() - started) / 100) / 10;
      const already = await step.check();
      if (already !== null) {
        say(`✓ ${step.name}: ${already}`);
        outcomes.push({ step: step.name, status: "skipped", seconds: seconds(), detail: already });
        continue;
      }
      if (opts.checkOnly) {
        say(`✗ ${step.name}: missing`);
        outcomes.push({ step: step.name, status: "missing", seconds: seconds(), detail: "missing" });
        continue;
      }
      say(`▸ ${step.name} …`);
      const detail = (await step.run()) || "done";
      say(`✓ ${step.name}: ${detail} (${seconds()} s)`);
      outcomes.push({ step: step.name, status: "done", seconds: seconds(), detail });
    }
  } finally {
    mkdirSync(dirname(setupReportFile), { recursive: true });
    writeFileSync(setupReportFile, JSON.stringify(outcomes, null, 2) + "\n");
  }
  return outcomes;
}
