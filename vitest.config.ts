import { defineConfig } from "vitest/config";

// Tests that start conductors are slow to start and share two cores: run files one at a time.
export default defineConfig({
  test: {
    include: ["node/test/**/*.test.ts", "zome-bindings/test/**/*.test.ts", "tryorama-tests/src/**/*.test.ts", "ui/test/**/*.test.ts"],
    fileParallelism: false,
    // Names and kills what a file leaves running, so that it cannot slow the files after it.
    setupFiles: ["node/test/support/leak-guard.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON report feeds the one-line summary printed by .ci/run (scripts/test-summary.mjs).
    reporters: ["default", ["json", { outputFile: "workdir/test-results.json" }]],
  },
});
