// Setup is idempotent: `npm test` has just run it, so running it again must find every part in
// place and skip it (no download, no build). It runs here inside the loopback-only namespace, so
// a step that tried to reach a registry would fail this test too.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoRoot, setupReportFile } from "../src/config/paths.mjs";

interface StepOutcome {
  step: string;
  status: "skipped" | "done" | "missing";
  detail: string;
}

describe("setup", () => {
  it("skips every part on a second run", () => {
    const run = spawnSync(process.execPath, ["node/setup/main.mjs"], { cwd: repoRoot, encoding: "utf8" });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const outcomes = JSON.parse(readFileSync(setupReportFile, "utf8")) as StepOutcome[];
    expect(outcomes.map((o) => o.step)).toEqual([
      "npm dependencies",
      "Debian packages",
      "toolchain binaries",
      "wasm Rust toolchain",
      "DNAs and happ/ripple.happ",
      "tiny test model",
      "default expert model",
      "second expert model",
      "third expert model",
      "web UI",
    ]);
    for (const outcome of outcomes) expect(outcome, outcome.step).toMatchObject({ status: "skipped" });
  });

  it("--check reports nothing missing and changes nothing", () => {
    const run = spawnSync(process.execPath, ["node/setup/main.mjs", "--check"], { cwd: repoRoot, encoding: "utf8" });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(/✗/);
  });
});
