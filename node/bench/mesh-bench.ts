// `npm run bench` (part): the local mesh with real daemons and conductors, in the loopback-only
// namespace. Prints, from one run:
//   - cold start: 3 nodes started at once until every node sees every other online (p50 over runs),
//     with the machine's compiled-wasm cache and without it (RIPPLE_WASM_CACHE=off: each compiles)
//   - a new node visible to every existing peer (p50, p95), from spawn and from "node running"
//   - a SIGKILLed node seen offline by every peer (p50), against the liveness window
//   - idle RSS of one node after RIPPLE_BENCH_IDLE_S (default 300 s) up: daemon + conductor (+ the
//     bootstrap/relay server when it hosts it)
import { readFileSync, rmSync } from "node:fs";
import { LocalApiClient } from "../src/api/api-client.ts";
import type { DaemonStatus } from "../src/daemon/daemon.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import { childrenOf, killNodeHard } from "../test/support/mesh-views.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";
import { waitFor } from "../test/support/wait-for.ts";

const coldRuns = Number(process.env.RIPPLE_BENCH_COLD_RUNS ?? 3);
const joinRuns = Number(process.env.RIPPLE_BENCH_JOIN_RUNS ?? 5);
const idleMs = Number(process.env.RIPPLE_BENCH_IDLE_S ?? 300) * 1000;
const livenessWindowMs = 8000;
const dirs: string[] = [];

function up(name: string, env: NodeJS.ProcessEnv = {}): RippleDaemon {
  const dir = RippleDaemon.tempDir(`rm-bench-${name}-`);
  dirs.push(dir);
  return RippleDaemon.up(name, dir, ["--no-measure", "--liveness-window", String(livenessWindowMs)], { env });
}

const client = (n: RippleDaemon) => LocalApiClient.forDataDir(n.dataDir);
const peers = async (n: RippleDaemon) => (await (await client(n)).peers()) as PeerInfo[];
const status = async (n: RippleDaemon) => (await (await client(n)).status()) as DaemonStatus;

/** Resolves with the time at which `check` first held (polled every 100 ms). */
const until = (what: string, check: () => Promise<boolean>, timeoutMs = 180_000) =>
  waitFor(what, async () => ((await check()) ? Date.now() : undefined), { timeoutMs, intervalMs: 100 });

const onlineIn = async (viewer: RippleDaemon, agent: string, online: boolean) => (await peers(viewer)).some((p) => p.agent === agent && p.online === online);

async function stopAll(nodes: RippleDaemon[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.kill("SIGTERM")));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function rssMb(pid: number): number {
  const kb = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return kb / 1024;
}

async function coldStart(wasmCache: boolean): Promise<number> {
  const started = Date.now();
  const nodes = ["c1", "c2", "c3"].map((name) => up(name, wasmCache ? {} : { RIPPLE_WASM_CACHE: "off" }));
  try {
    await Promise.all(nodes.map((n) => n.waitUntilRunning()));
    const agents = await Promise.all(nodes.map(async (n) => (await status(n)).agentPubKey!));
    const done = await until("all see all", async () => (await Promise.all(nodes.map(async (n) => (await Promise.all(agents.map((a) => onlineIn(n, a, true)))).every(Boolean)))).every(Boolean));
    return done - started;
  } finally {
    await stopAll(nodes);
  }
}

async function main(): Promise<void> {
  const cold: number[] = [];
  const coldCompiling: number[] = [];
  for (let i = 0; i < coldRuns; i++) {
    coldCompiling.push(await coldStart(false));
    cold.push(await coldStart(true));
    console.log(`cold start run ${i + 1}: ${cold.at(-1)} ms with the wasm cache, ${coldCompiling.at(-1)} ms compiling`);
  }

  const baseStarted = Date.now();
  const base = [up("a"), up("b")];
  const visibleFromSpawn: number[] = [];
  const visibleFromReady: number[] = [];
  const deadDetected: number[] = [];
  let rss: { daemon: number; conductor: number; relay: number; lastMinute: number[] } | undefined;
  try {
    await Promise.all(base.map((n) => n.waitUntilRunning()));
    for (let i = 0; i < joinRuns; i++) {
      const spawnedAt = Date.now();
      const joiner = up(`j${i}`);
      const ready = await joiner.waitUntilRunning();
      const readyAt = Number(ready.time);
      const agent = (await status(joiner)).agentPubKey!;
      const seen = await until("joiner visible to every peer", async () => (await Promise.all(base.map((b) => onlineIn(b, agent, true)))).every(Boolean));
      visibleFromSpawn.push(seen - spawnedAt);
      visibleFromReady.push(seen - readyAt);
      const killedAt = Date.now();
      killNodeHard(joiner.pid, childrenOf(joiner.pid));
      await joiner.kill("SIGKILL");
      const offline = await until("dead joiner offline everywhere", async () => (await Promise.all(base.map((b) => onlineIn(b, agent, false)))).every(Boolean));
      deadDetected.push(offline - killedAt);
      console.log(`join run ${i + 1}: visible ${visibleFromSpawn.at(-1)} ms after spawn (${visibleFromReady.at(-1)} ms after ready); dead seen offline after ${deadDetected.at(-1)} ms`);
    }
    // Idle RSS: the node that does not host the relay, once it has been up for idleMs.
    const host = (await status(base[0]!)).localHost?.self ? base[0]! : base[1]!;
    const idle = host === base[0] ? base[1]! : base[0]!;
    // One sample moves by ±10 MB with what the node did just before (a read, a trim), so the minute
    // before idleMs is sampled every 5 s as well: the figure at idleMs is the headline, beside the
    // range and median of that minute.
    const conductorPid = (await status(idle)).conductor!.pid!;
    const lastMinute: number[] = [];
    for (let at = idleMs - 60_000; at < idleMs; at += 5000) {
      const wait = baseStarted + at - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (wait > -5000) lastMinute.push(rssMb(idle.pid) + rssMb(conductorPid));
    }
    const upFor = Date.now() - baseStarted;
    if (upFor < idleMs) await new Promise((r) => setTimeout(r, idleMs - upFor));
    const relayPid = childrenOf(host.pid).find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("kitsune2-bootstrap-srv"));
    rss = { daemon: rssMb(idle.pid), conductor: rssMb(conductorPid), relay: relayPid ? rssMb(relayPid) : 0, lastMinute };
  } finally {
    await stopAll(base);
  }

  const row = (label: string, v: number[]) => `${label.padEnd(52)} p50 ${String(percentile(v, 50)).padStart(6)} ms   p95 ${String(percentile(v, 95)).padStart(6)} ms   (n=${v.length})`;
  console.log("\n== local mesh (real daemons + conductors, loopback namespace, 2 cores) ==");
  if (cold.length) {
    console.log(row("3 nodes cold start → all see all online (wasm cache)", cold));
    console.log(row("3 nodes cold start → all see all online (compiling)", coldCompiling));
    console.log(`cold start with the wasm cache ÷ compiling: ${(percentile(cold, 50) / percentile(coldCompiling, 50)).toFixed(2)}; ÷ 20 s target: ${(percentile(cold, 50) / 20_000).toFixed(2)}`);
  }
  console.log(row("new node visible to every peer (from spawn)", visibleFromSpawn));
  console.log(row("new node visible to every peer (from ready)", visibleFromReady));
  console.log(row(`SIGKILLed node seen offline (window ${livenessWindowMs} ms)`, deadDetected));
  console.log(`dead-peer detection ÷ 10 s target: ${(percentile(deadDetected, 50) / 10_000).toFixed(2)}`);
  if (rss) {
    console.log(`idle RSS of one node after ${Math.round(idleMs / 1000)} s up: daemon ${rss.daemon.toFixed(0)} MB + conductor ${rss.conductor.toFixed(0)} MB = ${(rss.daemon + rss.conductor).toFixed(0)} MB; the host also runs the relay: ${rss.relay.toFixed(0)} MB`);
    const m = rss.lastMinute;
    if (m.length) console.log(`  the minute before, every 5 s (n=${m.length}): daemon + conductor ${Math.min(...m).toFixed(0)}–${Math.max(...m).toFixed(0)} MB, median ${percentile(m.map(Math.round), 50)} MB; ÷ 400 MB target: ${(percentile(m.map(Math.round), 50) / 400).toFixed(2)}`);
  }
}

try {
  await main();
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
