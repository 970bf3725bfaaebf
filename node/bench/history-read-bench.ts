// `npm run bench` (part, issue #20): what a job history costs the reads every node makes, on a bare
// conductor (no daemon), fresh and with RIPPLE_BENCH_HISTORY_JOBS (default 2,500) tiny jobs written
// through the zome API, side by side: the conductor's CPU with no calls, and the time and CPU of
// `list_open_jobs` and of a local `get_mesh_view` called once a second. The read-cost test shows
// these reads touch the same links and records either way; this shows what they cost.
import { rmSync } from "node:fs";
import { agentRegistry, resourceMesh } from "@ripple-mesh/zome-bindings";
import { createLogger } from "../src/log.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";
import { cpuSeconds, withBareConductor, writeHistory } from "./bare-conductor.ts";

const historyJobs = Number(process.env.RIPPLE_BENCH_HISTORY_JOBS ?? 2500);
const sampleS = Number(process.env.RIPPLE_BENCH_READ_SAMPLE_S ?? 20);
const log = createLogger("history-read-bench", process.env.RIPPLE_LOG_LEVEL ?? "warn");

interface Sample {
  cpuPct: number;
  msPerCall?: number;
}

/** The conductor's CPU over `sampleS`, calling `call` once a second if given. */
async function sample(pid: number, call?: () => Promise<unknown>): Promise<Sample> {
  const before = cpuSeconds(pid);
  const end = Date.now() + sampleS * 1000;
  let calls = 0;
  let ms = 0;
  while (Date.now() < end) {
    if (call) {
      const t0 = performance.now();
      await call();
      ms += performance.now() - t0;
      calls++;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { cpuPct: ((cpuSeconds(pid) - before) / sampleS) * 100, ...(calls ? { msPerCall: ms / calls } : {}) };
}

async function measure(jobs: number): Promise<Record<string, Sample>> {
  const dir = RippleDaemon.tempDir(`rm-bench-reads-${jobs}-`);
  try {
    return await withBareConductor(dir, log, async (conductor) => {
      const mesh = resourceMesh(conductor);
      const registry = agentRegistry(conductor);
      if (jobs > 0) console.log(`  ${await writeHistory(conductor, jobs)}`);
      await new Promise((r) => setTimeout(r, 20_000)); // let the writes' workflows settle
      const pid = conductor.pid!;
      return {
        "no calls": await sample(pid),
        "list_open_jobs 1/s": await sample(pid, () => mesh.listOpenJobs()),
        "get_mesh_view (local) 1/s": await sample(pid, () => registry.getMeshView((Date.now() - 600_000) * 1000, true)),
      };
    }, { fastGossip: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fresh = await measure(0);
const withHistory = await measure(historyJobs);
console.log(`\nReads on a bare conductor, fresh vs ${historyJobs} jobs of history (${sampleS} s each; issue #20)`);
for (const what of Object.keys(fresh)) {
  const [a, b] = [fresh[what]!, withHistory[what]!];
  const ms = a.msPerCall !== undefined ? `; ${a.msPerCall.toFixed(1)} vs ${b.msPerCall!.toFixed(1)} ms per call (× ${(b.msPerCall! / a.msPerCall).toFixed(1)})` : "";
  console.log(`  ${what.padEnd(26)} conductor ${a.cpuPct.toFixed(1)}% vs ${b.cpuPct.toFixed(1)}% of a core${ms}`);
}
console.log("  Holochain 0.7's get_links scans the whole link table (no index on the base), so the same two-bucket read costs more with every link held.");
