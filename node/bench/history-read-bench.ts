// `npm run bench` (part, issue #20): what a job history costs the reads every node makes, on a bare
// conductor (no daemon), fresh and with RIPPLE_BENCH_HISTORY_JOBS (default 2,500) tiny jobs written
// through the zome API, side by side: the conductor's CPU with no calls, and the time and CPU of
// `list_open_jobs` and of a local `get_mesh_view` called once a second. The read-cost test shows
// these reads touch the same links and records either way; this shows what they cost.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { agentRegistry, resourceMesh } from "@ripple-mesh/zome-bindings";
import { BootstrapServer } from "../src/bootstrap/bootstrap-server.ts";
import { Conductor } from "../src/conductor/conductor.ts";
import { loadNetworks } from "../src/config/networks.mjs";
import { nodePaths } from "../src/config/node-paths.ts";
import { happFile } from "../src/config/paths.mjs";
import { checkToolchain } from "../src/config/toolchain.ts";
import { createLogger } from "../src/log.ts";
import { writeJobHistory } from "../test/support/job-history.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";

const historyJobs = Number(process.env.RIPPLE_BENCH_HISTORY_JOBS ?? 2500);
const sampleS = Number(process.env.RIPPLE_BENCH_READ_SAMPLE_S ?? 20);
const log = createLogger("history-read-bench", process.env.RIPPLE_LOG_LEVEL ?? "warn");
const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

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
  const tc = await checkToolchain({ only: ["holochain", "kitsune2-bootstrap-srv"] });
  const bootstrap = new BootstrapServer({ binary: tc.path("kitsune2-bootstrap-srv"), logDir: join(dir, "bench-logs"), log });
  await bootstrap.start();
  const conductor = new Conductor({ holochainBinary: tc.path("holochain"), paths: nodePaths(join(dir, "local")), bootstrapUrl: bootstrap.url, relayUrl: bootstrap.url, networkSeed: loadNetworks().networks.local!.network_seed, happFile, log, fastGossip: true });
  try {
    await conductor.start();
    const mesh = resourceMesh(conductor);
    const registry = agentRegistry(conductor);
    if (jobs > 0) {
      const written = await writeJobHistory(mesh, jobs, (n) => console.log(`  ${n}/${jobs} jobs written`));
      console.log(`  ${jobs} jobs written in ${(written.ms / 1000).toFixed(0)} s (${written.rate.toFixed(1)} jobs/s)`);
    }
    await new Promise((r) => setTimeout(r, 20_000)); // let the writes' workflows settle
    const pid = conductor.pid!;
    return {
      "no calls": await sample(pid),
      "list_open_jobs 1/s": await sample(pid, () => mesh.listOpenJobs()),
      "get_mesh_view (local) 1/s": await sample(pid, () => registry.getMeshView((Date.now() - 600_000) * 1000, true)),
    };
  } finally {
    await conductor.stop();
    await bootstrap.stop();
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
