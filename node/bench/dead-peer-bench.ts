// `npm run bench` (part): how long new DHT data takes to reach every live node of a local mesh,
// with no dead peers and with two SIGKILLed peers still in the peer stores and at the bootstrap
// server (issue #20). The write measured is a new node's capability: from the joiner reporting
// "node running" (its capability is published by then) until every live node lists it in its peers
// view, which only lists agents whose capability the node holds. Prints p50/p95 for both cases.
// Runs: RIPPLE_BENCH_CLEAN_JOINS (default 2), RIPPLE_BENCH_DEAD_JOINS (default 3).
// Keep the conductor logs with RIPPLE_BENCH_KEEP_LOGS=DIR (e.g. with RUST_LOG=warn,kitsune2_transport_iroh=info).
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LocalApiClient } from "../src/api/api-client.ts";
import type { DaemonStatus } from "../src/daemon/daemon.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";
import { childrenOf, killNodeHard } from "../test/support/mesh-views.ts";
import { RippleDaemon } from "../test/support/ripple-process.ts";
import { waitFor } from "../test/support/wait-for.ts";

const cleanJoins = Number(process.env.RIPPLE_BENCH_CLEAN_JOINS ?? 2);
const deadJoins = Number(process.env.RIPPLE_BENCH_DEAD_JOINS ?? 3);
const keepLogs = process.env.RIPPLE_BENCH_KEEP_LOGS;
const dirs: string[] = [];
const nodes: RippleDaemon[] = [];

function up(name: string): RippleDaemon {
  const dir = RippleDaemon.tempDir(`rm-bench-${name}-`);
  dirs.push(dir);
  const node = RippleDaemon.up(name, dir, ["--no-measure", "--liveness-window", "8000"]);
  nodes.push(node);
  return node;
}

const live = () => nodes.filter((n) => n.exitCode === undefined);
const client = (n: RippleDaemon) => LocalApiClient.forDataDir(n.dataDir);
const lists = async (viewer: RippleDaemon, agent: string) => ((await (await client(viewer)).peers()) as PeerInfo[]).some((p) => p.agent === agent);
const agentOf = async (n: RippleDaemon) => ((await (await client(n)).status()) as DaemonStatus).agentPubKey!;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Starts a node and returns ms from its "node running" until every other live node lists it. */
async function joinMesh(name: string): Promise<number> {
  const viewers = live();
  const joiner = up(name);
  const readyAt = Number((await joiner.waitUntilRunning()).time);
  const agent = await agentOf(joiner);
  const seenAt = await waitFor(`${name} listed by every live node`, async () => ((await Promise.all(viewers.map((v) => lists(v, agent)))).every(Boolean) ? Date.now() : undefined), { timeoutMs: 240_000, intervalMs: 100 });
  return seenAt - readyAt;
}

function killHard(n: RippleDaemon): Promise<unknown> {
  killNodeHard(n.pid, childrenOf(n.pid));
  return n.kill("SIGKILL");
}

async function main(): Promise<void> {
  const base = [up("a"), up("b")];
  await Promise.all(base.map((n) => n.waitUntilRunning()));
  const baseAgents = await Promise.all(base.map(agentOf));
  await waitFor("a and b list each other", async () => ((await lists(base[0]!, baseAgents[1]!)) && (await lists(base[1]!, baseAgents[0]!)) ? true : undefined), { timeoutMs: 240_000, intervalMs: 250 });

  const clean: number[] = [];
  const doomed: RippleDaemon[] = [];
  for (let i = 0; i < Math.max(cleanJoins, 2); i++) {
    const ms = await joinMesh(`c${i}`);
    if (i < cleanJoins) clean.push(ms);
    console.log(`no dead peers, join ${i + 1}: listed by every live node ${ms} ms after it reported running`);
    doomed.push(nodes.at(-1)!);
  }
  // Two of the nodes that joined die the hard way; every other node still holds their agent infos.
  for (const n of doomed.slice(-2)) await killHard(n);
  const withDead: number[] = [];
  for (let i = 0; i < deadJoins; i++) {
    const ms = await joinMesh(`d${i}`);
    withDead.push(ms);
    console.log(`2 dead peers, join ${i + 1}: listed by every live node ${ms} ms after it reported running`);
  }

  const row = (label: string, v: number[]) => `${label.padEnd(58)} p50 ${String(percentile(v, 50)).padStart(6)} ms   p95 ${String(percentile(v, 95)).padStart(6)} ms   (n=${v.length})`;
  console.log("\n== new DHT data reaching every live node (real daemons + conductors, loopback namespace) ==");
  if (clean.length) console.log(row("new node's capability listed everywhere, 0 dead peers", clean));
  console.log(row("new node's capability listed everywhere, 2 dead peers", withDead));
  console.log("target p95 ≤ 5000 ms; before the fix (Holochain's 22 s connect timeout): see README Benchmarks");
}

try {
  await main();
} finally {
  await Promise.all(nodes.map((n) => n.kill("SIGTERM")));
  if (keepLogs) {
    mkdirSync(keepLogs, { recursive: true });
    for (const n of nodes) {
      const log = join(n.dataDir, "local", "logs", "conductor.log");
      if (existsSync(log)) copyFileSync(log, join(keepLogs, `${n.name}-conductor.log`));
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
