import { defineConfig } from "vitest/config";

// Two projects, both in `npm test`:
// - unit: no conductor, no daemon, no kubo, no libp2p node, no browser (in-process API servers on
//   loopback and real models through the engine are fine); `npm run test:unit`, under 2 minutes;
// - scenario: everything that starts those, one file at a time (they are slow to start and share
//   two cores).
const unitTests = [
  "node/test/accounting-units.test.ts",
  "node/test/assignment-check.test.ts",
  "node/test/answer-confidence.test.ts",
  "node/test/anthropic-compat.test.ts",
  "node/test/api-types.test.ts",
  "node/test/architecture.test.ts",
  "node/test/artifacts-units.test.ts",
  "node/test/model-rehosting.test.ts",
  "node/test/served-slots.test.ts",
  "node/test/close-client.test.ts",
  "node/test/capability-classes.test.ts",
  "node/test/capability-probe.test.ts",
  "node/test/child-processes.test.ts",
  "node/test/cli-bundle.test.ts",
  "node/test/chaos-ledger.test.ts",
  "node/test/cli-terminal-text.test.ts",
  "node/test/cloud-expert-units.test.ts",
  "node/test/conductor-config.test.ts",
  "node/test/dna-pins.test.ts",
  "node/test/inference-api.test.ts",
  "node/test/inference-batching.test.ts",
  "node/test/batch-order.test.ts",
  "node/test/prompt-reuse.test.ts",
  "node/test/inference-engine.test.ts",
  "node/test/inference-scheduling.test.ts",
  "node/test/hostile-records.test.ts",
  "node/test/local-api-client.test.ts",
  "node/test/local-api.test.ts",
  "node/test/mcp-http.test.ts",
  "node/test/mcp-tools.test.ts",
  "node/test/mesh-models.test.ts",
  "node/test/native-heap-trim.test.ts", "node/test/result-writer.test.ts", "node/test/kubo-peering.test.ts", "node/test/peer-dialer.test.ts", "node/test/linked-signal.test.ts", "node/test/mesh-lifecycle-units.test.ts", "node/test/supervised-process.test.ts", "node/test/job-progress-wiring.test.ts",
  "node/test/model-store.test.ts",
  "node/test/model-store-changes.test.ts",
  "node/test/moe-history.test.ts",
  "node/test/moe-policies.test.ts",
  "node/test/moe-quality-set.test.ts",
  "node/test/moe-quorum.test.ts",
  "node/test/moe-reducer.test.ts",
  "node/test/moe-trust-units.test.ts",
  "node/test/worker-limits-units.test.ts",
  "node/test/moe-placement-units.test.ts",
  "node/test/nats-units.test.ts",
  "node/test/node-metrics.test.ts",
  "node/test/open-job-claimer.test.ts",
  "node/test/p2p-peer-maps.test.ts",
  "node/test/openai-compat.test.ts",
  "node/test/peer-view.test.ts",
  "node/test/pins.test.ts",
  "node/test/reservation-gate.test.ts",
  "node/test/toolchain-errors.test.ts",
  "node/test/ui-routes.test.ts",
  "node/test/vote-confidence.test.ts",
  "node/test/wasm-cache-units.test.ts",
  "ui/test/**/*.test.ts",
  "zome-bindings/test/**/*.test.ts",
];
const allTests = ["node/test/**/*.test.ts", "zome-bindings/test/**/*.test.ts", "tryorama-tests/src/**/*.test.ts", "ui/test/**/*.test.ts"];

export default defineConfig({
  test: {
    fileParallelism: false,
    // Names and kills what a file leaves running, so that it cannot slow the files after it.
    setupFiles: ["node/test/support/leak-guard.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON report feeds the one-line summary printed by .ci/run (scripts/test-summary.mjs).
    reporters: ["default", ["json", { outputFile: "workdir/test-results.json" }]],
    projects: [
      { extends: true, test: { name: "unit", include: unitTests } },
      { extends: true, test: { name: "scenario", include: allTests, exclude: unitTests } },
    ],
  },
});
