// `npm run bench` (part): the idle CPU of one node (daemon + conductor: no jobs running, no peers)
// on a fresh data directory and on one whose DHT holds a long job history, side by side. The
// history (RIPPLE_BENCH_HISTORY_JOBS, default 10,000 tiny assigned jobs) is written through the
// zome API by a conductor on the node's own data directory before `ripple up` starts on it.
// CPU is sampled from /proc over RIPPLE_BENCH_IDLE_SAMPLE_S (30 s) after RIPPLE_BENCH_IDLE_SETTLE_S
// (40 s) of running, as in issue #20 (54% of a core with ~600 jobs before the bucketed reads, 6% fresh).
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BootstrapServer } from "../src/bootstrap/bootstrap-server.ts";
import { Conductor } from "../src/conductor/conductor.ts";
import { loadNetworks } from "../src/config/networks.mjs";
import { nodePaths } from "../src/config/node-paths.ts";
import { happFile } from "../src/config/paths.mjs";
import { checkToolchain } from "../src/config/toolchain.ts";
import { createLogger } from "../src/log.ts";
import { resourceMesh } from "@ripple-mesh/zome-bindings";
import { writeJobHistory } from "../test/support/job-history.ts";
import { childrenOf } from "../test/support/mesh-views.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";

const historyJobs = Number(process.env.RIPPLE_BENCH_HISTORY_JOBS ?? 10_000);
const settleS = Number(process.env.RIPPLE_BENCH_IDLE_SETTLE_S ?? 40);
const sampleS = Number(process.env.RIPPLE_BENCH_IDLE_SAMPLE_S ?? 30);
const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const log = createLogger("idle-bench", process.env.RIPPLE_LOG_LEVEL ?? "warn");

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return 0;
  }
}

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

/** A conductor on `dataDir`'s local-network directory writes the history, then stops. */
async function writeHistory(dataDir: string, jobs: number): Promise<string> {
  const tc = await checkToolchain({ only: ["holochain", "kitsune2-bootstrap-srv"] });
  const bootstrap = new BootstrapServer({ binary: tc.path("kitsune2-bootstrap-srv"), logDir: join(dataDir, "bench-logs"), log });
  await bootstrap.start();
  const conductor = new Conductor({
    holochainBinary: tc.path("holochain"),
    paths: nodePaths(join(dataDir, "local")),
    bootstrapUrl: bootstrap.url,
    relayUrl: bootstrap.url,
    networkSeed: loadNetworks().networks.local!.network_seed,
    happFile,
    log,
  });
  try {
    await conductor.start();
    const written = await writeJobHistory(resourceMesh(conductor), jobs, (n) => console.log(`  ${n}/${jobs} jobs written`));
    return `${jobs} jobs written in ${(written.ms / 1000).toFixed(0)} s (${written.rate.toFixed(0)} jobs/s)`;
  } finally {
    await conductor.stop();
    await bootstrap.stop();
  }
}

interface Idle {
  /** Percent of one core over the sample. */
  daemon: number;
  conductor: number;
  others: string;
}

async function idleCpu(dataDir: string): Promise<Idle> {
  const node = RippleDaemon.up("idle", dataDir, ["--no-measure", "--network", "local"]);
  try {
    await node.waitUntilRunning();
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const tree = descendants(node.pid);
    const conductorPid = tree.find((p) => commandOf(p) === "holochain");
    if (!conductorPid) throw new Error(`no conductor under the daemon (children: ${tree.map(commandOf).join(", ")})`);
    const others = tree.filter((p) => p !== conductorPid);
    const before = { daemon: cpuSeconds(node.pid), conductor: cpuSeconds(conductorPid), others: others.map(cpuSeconds) };
    await new Promise((r) => setTimeout(r, sampleS * 1000));
    const pct = (now: number, then: number) => ((now - then) / sampleS) * 100;
    return {
      daemon: pct(cpuSeconds(node.pid), before.daemon),
      conductor: pct(cpuSeconds(conductorPid), before.conductor),
      others: others.map((p, i) => `${commandOf(p)} ${pct(cpuSeconds(p), before.others[i]!).toFixed(1)}%`).join(", "),
    };
  } finally {
    await node.kill("SIGTERM");
  }
}

const rows: Array<{ label: string; idle: Idle }> = [];
for (const jobs of [0, historyJobs]) {
  const dir = RippleDaemon.tempDir(`rm-bench-idle-${jobs}-`);
  try {
    if (jobs > 0) console.log(`  ${await writeHistory(dir, jobs)}`);
    rows.push({ label: `${jobs} jobs of history`, idle: await idleCpu(dir) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\nIdle CPU of one node, % of one core (settled ${settleS} s, sampled ${sampleS} s; target: equal within noise, daemon + conductor <= 5%)`);
for (const { label, idle } of rows) {
  console.log(`  ${label.padEnd(24)} daemon ${idle.daemon.toFixed(1)}% + conductor ${idle.conductor.toFixed(1)}% = ${(idle.daemon + idle.conductor).toFixed(1)}%   (also: ${idle.others || "none"})`);
}
console.log("  before the bucketed reads (issue #20, same machine): ~600 jobs of history: conductor 54%; fresh: 6%");
