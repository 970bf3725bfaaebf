// Benchmark: time from a write on one conductor to its read on another, with the test gossip
// settings (harness: fastGossip). Two real conductors and a local bootstrap/relay server in a
// loopback-only namespace. Figures are printed, not asserted.
import { performance } from "node:perf_hooks";
import { startMesh, stopAll, waitFor } from "../src/harness.ts";

const writes = Number(process.env.RIPPLE_BENCH_WRITES ?? 50);
const pollMs = 10;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const mesh = await startMesh("bench-dht", [{ name: "writer" }, { name: "reader" }]);
try {
  const [writer, reader] = mesh.nodes as [(typeof mesh.nodes)[0], (typeof mesh.nodes)[0]];
  const job = (i: number) => ({
    kind: "compute" as const,
    requirements: "{}",
    payload_inline: `bench write ${i}`,
    payload_cid: null,
    deadline_ms: Date.now() + 600_000,
    moe_group: null,
    trace_id: `bench-${i}`,
    claim_window_ms: 0,
  });
  // Warm-up: the first read also waits for the two nodes to find each other.
  const first = await writer.mesh.createJob(job(-1));
  await waitFor("the reader to see the warm-up write", async () => (await reader.mesh.getJob(first)) ?? undefined, { timeoutMs: 120_000 });

  const latencies: number[] = [];
  for (let i = 0; i < writes; i++) {
    const hash = await writer.mesh.createJob(job(i));
    const started = performance.now();
    while (!(await reader.mesh.getJob(hash))) await new Promise((r) => setTimeout(r, pollMs));
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
  console.log(`\nDHT write → read on another conductor (${writes} writes, poll every ${pollMs} ms, fast test gossip)`);
  console.log(`  p50 ${fmt(percentile(latencies, 50))}   p95 ${fmt(percentile(latencies, 95))}   min ${fmt(latencies[0]!)}   max ${fmt(latencies.at(-1)!)}`);
} finally {
  await stopAll(mesh.nodes, mesh.bootstrap);
}
