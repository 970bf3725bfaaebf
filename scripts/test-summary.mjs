// Prints the test results as one plain closing line: "N passed, N failed, N skipped", summing
// vitest's JSON report and the host-side Rust tests (node/setup/rust-tests.mjs). Before it: the
// slowest test files and any process a file left running (node/test/support/leak-guard.ts), because
// a CI log keeps only its tail and these are what explain a slow or timed-out run.
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
  printSlowestFiles(v);
  printLeaks(v.startTime);
  parts.push(`vitest ${v.numPassedTests}/${v.numFailedTests}/${v.numPendingTests + v.numTodoTests}`);
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped (${parts.join("; ") || "no results found"})`);

function printSlowestFiles(report) {
  const files = report.testResults
    .map((f) => ({ s: (f.endTime - f.startTime) / 1000, name: f.name.replace(/^.*?\/(node|tryorama-tests|zome-bindings|ui)\//, "$1/"), status: f.status }))
    .sort((a, b) => b.s - a.s);
  const total = files.reduce((sum, f) => sum + f.s, 0);
  console.log(`test files by time (${files.length} files, ${Math.round(total)} s):`);
  for (const f of files.slice(0, 15)) console.log(`  ${f.s.toFixed(0).padStart(5)} s  ${f.status === "passed" ? "  " : "✗ "}${f.name}`);
}

function printLeaks(since) {
  const file = "workdir/test-leaks.jsonl";
  if (!existsSync(file)) return;
  const leaks = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.at >= since);
  for (const l of leaks) console.log(`leaked by ${l.file}: pid ${l.pid} ${l.command}`);
}
