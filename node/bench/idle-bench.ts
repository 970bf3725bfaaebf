// `npm run bench` (part): the idle CPU of one node (daemon + conductor: no jobs running, no peers)
// on a fresh data directory and on one whose DHT holds a long job history, side by side. The
// history (RIPPLE_BENCH_HISTORY_JOBS, default 10,000 tiny assigned jobs) is written through the
// zome API by a conductor on the node's own data directory before `ripple up` starts on it.
// CPU is sampled from /proc over RIPPLE_BENCH_IDLE_SAMPLES (3) consecutive windows of
// RIPPLE_BENCH_IDLE_SAMPLE_S (30 s; the median is the figure) after RIPPLE_BENCH_IDLE_SETTLE_S
// (40 s) of running, as in issue #20 (54% of a core with ~600 jobs before the bucketed reads, 6% fresh).
// RIPPLE_BENCH_HISTORY_DIR: a data directory whose history was written before (10,000 jobs take
// ~30 min here); it is copied, never changed, and RIPPLE_BENCH_HISTORY_JOBS then only labels it.
import { cpSync, readFileSync, rmSync } from "node:fs";
import { createLogger } from "../src/log.ts";
import { childrenOf } from "../test/support/mesh-views.ts";
import { cpuSeconds, withBareConductor, writeHistory } from "./bare-conductor.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";

const historyJobs = Number(process.env.RIPPLE_BENCH_HISTORY_JOBS ?? 10_000);
const settleS = Number(process.env.RIPPLE_BENCH_IDLE_SETTLE_S ?? 40);
const sampleS = Number(process.env.RIPPLE_BENCH_IDLE_SAMPLE_S ?? 30);
const samplesPerNode = Number(process.env.RIPPLE_BENCH_IDLE_SAMPLES ?? 3);
const log = createLogger("idle-bench", process.env.RIPPLE_LOG_LEVEL ?? "warn");

function descendants(pid: number): number[] {
  return childrenOf(pid).flatMap((c) => [c, ...descendants(c)]);
}

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!.split("/").at(-1)!;
  } catch {
    return "?";
  }
};

interface Idle {
  /** Percent of one core over one sample. */
  daemon: number;
  conductor: number;
  others: string;
}

/** Consecutive samples of one node: periodic conductor work (a republish, a bucket change) lands in some of them. */
async function idleCpu(dataDir: string): Promise<Idle[]> {
  const node = RippleDaemon.up("idle", dataDir, ["--no-measure", "--network", "local"]);
  try {
    await node.waitUntilRunning();
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const tree = descendants(node.pid);
    const conductorPid = tree.find((p) => commandOf(p) === "holochain");
    if (!conductorPid) throw new Error(`no conductor under the daemon (children: ${tree.map(commandOf).join(", ")})`);
    const others = tree.filter((p) => p !== conductorPid);
    const samples: Idle[] = [];
    for (let i = 0; i < samplesPerNode; i++) {
      const before = { daemon: cpuSeconds(node.pid), conductor: cpuSeconds(conductorPid), others: others.map(cpuSeconds) };
      await new Promise((r) => setTimeout(r, sampleS * 1000));
      const pct = (now: number, then: number) => ((now - then) / sampleS) * 100;
      samples.push({
        daemon: pct(cpuSeconds(node.pid), before.daemon),
        conductor: pct(cpuSeconds(conductorPid), before.conductor),
        others: others.map((p, j) => `${commandOf(p)} ${pct(cpuSeconds(p), before.others[j]!).toFixed(1)}%`).join(", "),
      });
    }
    return samples;
  } finally {
    await node.kill("SIGTERM");
  }
}

const total = (x: Idle) => x.daemon + x.conductor;

const rows: Array<{ label: string; samples: Idle[] }> = [];
for (const jobs of [0, historyJobs]) {
  const dir = RippleDaemon.tempDir(`rm-bench-idle-${jobs}-`);
  try {
    // A conductor on the node's own data directory writes the history, then stops.
    const kept = process.env.RIPPLE_BENCH_HISTORY_DIR;
    if (jobs > 0 && kept) cpSync(kept, dir, { recursive: true, filter: (src) => !src.endsWith("/socket") });
    else if (jobs > 0) console.log(`  ${await withBareConductor(dir, log, (conductor) => writeHistory(conductor, jobs))}`);
    rows.push({ label: `${jobs} jobs of history`, samples: await idleCpu(dir) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\nIdle CPU of one node, % of one core (settled ${settleS} s, then ${samplesPerNode} samples of ${sampleS} s; target: equal within noise, daemon + conductor <= 5%)`);
for (const { label, samples } of rows) {
  const sorted = [...samples].sort((a, b) => total(a) - total(b));
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const range = `${total(sorted[0]!).toFixed(1)}–${total(sorted.at(-1)!).toFixed(1)}%`;
  console.log(`  ${label.padEnd(24)} median daemon ${median.daemon.toFixed(1)}% + conductor ${median.conductor.toFixed(1)}% = ${total(median).toFixed(1)}%, samples ${range}   (also: ${median.others || "none"})`);
}
console.log("  before the bucketed reads (issue #20, same machine): ~600 jobs of history: conductor 54%; fresh: 6%");
