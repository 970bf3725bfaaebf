// For the benches that measure a conductor on its own (idle-bench, history-read-bench): a conductor
// on a data directory's local-network store, without a daemon; a job history written through it;
// and a process's CPU time from /proc.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resourceMesh } from "@ripple-mesh/zome-bindings";
import { BootstrapServer } from "../src/bootstrap/bootstrap-server.ts";
import { Conductor } from "../src/conductor/conductor.ts";
import { loadNetworks } from "../src/config/networks.mjs";
import { nodePaths } from "../src/config/node-paths.ts";
import { happFile } from "../src/config/paths.mjs";
import { checkToolchain } from "../src/config/toolchain.ts";
import type { Logger } from "../src/log.ts";
import { writeJobHistory } from "../test/support/job-history.ts";

const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return 0;
  }
}

/** Runs `run` with a conductor (and the bootstrap server it needs) on `dataDir`'s local-network store, then stops both. */
export async function withBareConductor<T>(dataDir: string, log: Logger, run: (conductor: Conductor) => Promise<T>, opts: { fastGossip?: boolean } = {}): Promise<T> {
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
    ...(opts.fastGossip !== undefined ? { fastGossip: opts.fastGossip } : {}),
  });
  try {
    await conductor.start();
    return await run(conductor);
  } finally {
    await conductor.stop();
    await bootstrap.stop();
  }
}

/** Writes `jobs` tiny jobs through `conductor`'s zome API, printing progress; returns a summary line. */
export async function writeHistory(conductor: Conductor, jobs: number): Promise<string> {
  const written = await writeJobHistory(resourceMesh(conductor), jobs, (n) => console.log(`  ${n}/${jobs} jobs written`));
  return `${jobs} jobs written in ${(written.ms / 1000).toFixed(0)} s (${written.rate.toFixed(1)} jobs/s)`;
}
