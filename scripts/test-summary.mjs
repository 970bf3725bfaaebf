// Prints the test results as one plain closing line: "N passed, N failed, N skipped", summing
// vitest's JSON report and the host-side Rust tests (node/setup/rust-tests.mjs).
import { existsSync, readFileSync } from "node:fs";

const vitestFile = process.argv[2] ?? "workdir/test-results.json";
const rustFile = process.argv[3] ?? "workdir/rust-test-results.json";
const totals = { passed: 0, failed: 0, skipped: 0 };
const parts = [];
if (existsSync(rustFile)) {
  const rust = JSON.parse(readFileSync(rustFile, "utf8"));
  totals.passed += rust.passed;
  totals.failed += rust.failed + (rust.exitCode === 0 ? 0 : rust.failed === 0 ? 1 : 0);
  totals.skipped += rust.ignored;
  parts.push(`rust ${rust.passed}/${rust.failed}/${rust.ignored}`);
}
if (existsSync(vitestFile)) {
  const v = JSON.parse(readFileSync(vitestFile, "utf8"));
  totals.passed += v.numPassedTests;
  totals.failed += v.numFailedTests;
  totals.skipped += v.numPendingTests + v.numTodoTests;
  parts.push(`vitest ${v.numPassedTests}/${v.numFailedTests}/${v.numPendingTests + v.numTodoTests}`);
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped (${parts.join("; ") || "no results found"})`);
