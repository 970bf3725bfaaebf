// The reads every node makes every second (the open-job claimer's list_open_jobs, the mesh
// session's get_mesh_view) cost the same on a node whose DHT holds a long job history as on a
// fresh one: one conductor, the links and records one read touches (the zomes' *_read_cost
// diagnostics) and the time of one read, before and after writing the history through the zome API.
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReadCost } from "@ripple-mesh/zome-bindings";
import { capabilityOf, startMesh, startMeshTimeoutMs, stopAll, type Mesh, type TestNode } from "./harness.ts";
import { tinyJob, writeJobHistory } from "@ripple-mesh/node/test/support/job-history.ts";

/** Jobs of history (RIPPLE_HISTORY_JOBS overrides it). */
const historyJobs = Number(process.env.RIPPLE_HISTORY_JOBS ?? 2000);
/** Open jobs written after the history, with claim windows (500 ms, the policy's minimum) that close at once. */
const closedOpenJobs = 20;

/** The mesh session's window (mesh-session.ts readDht): heartbeats of the last 10 minutes. */
const meshWindowMs = 10 * 60_000;

interface Costs {
  openJobs: ReadCost;
  meshViewLocal: ReadCost;
  meshViewNetwork: ReadCost;
  openJobsMs: number;
  meshViewMs: number;
  /** A zome call that reads no link: how busy the conductor is otherwise. */
  controlMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeOf(read: () => Promise<unknown>, times = 25): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await read();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

describe("the per-second reads with a long job history", () => {
  let mesh: Mesh | undefined;
  let node: TestNode;
  let capability: Uint8Array;

  /** As a running node sees it: a heartbeat just written (the daemon writes one every few seconds), a sliding window. */
  async function costs(): Promise<Costs> {
    await node.registry.publishHeartbeat({ status: "online", load: { cpu_percent: 1, gpu_percent: 0, memory_percent: 10 }, active_jobs: 0 });
    const since = (Date.now() - meshWindowMs) * 1000;
    return {
      openJobs: await node.mesh.listOpenJobsReadCost(),
      meshViewLocal: await node.registry.getMeshViewReadCost(since, true),
      meshViewNetwork: await node.registry.getMeshViewReadCost(since, false),
      openJobsMs: await timeOf(() => node.mesh.listOpenJobs()),
      meshViewMs: await timeOf(() => node.registry.getMeshView(since, true)),
      controlMs: await timeOf(() => node.registry.validationStatus(capability)),
    };
  }

  const job = (i: number, claimWindowMs: number) => tinyJob(`open-${i}`, claimWindowMs);

  beforeAll(async () => {
    mesh = await startMesh("read-cost", [{ name: "solo" }]);
    node = mesh.nodes[0]!;
    capability = await node.registry.publishCapability(await capabilityOf(node));
  }, startMeshTimeoutMs);
  afterAll(() => (mesh ? stopAll(mesh.nodes, mesh.bootstrap) : undefined));

  it(`touch the same links and records with ${historyJobs} jobs of history as with none`, async () => {
    const fresh = await costs();
    expect(fresh.openJobs, "the claimer reads two open-job periods and finds nothing").toEqual({ link_queries: 2, links: 0, records: 0 });
    expect(fresh.meshViewLocal, "the mesh view reads 11 heartbeat minutes and 2 capability periods, and fetches this node's capability and heartbeat").toEqual({ link_queries: 13, links: 2, records: 2 });

    const written = await writeJobHistory(node.mesh, historyJobs, (n) => console.log(`  ${n} jobs written`));
    expect((await node.mesh.listJobs()).length, "the history is there, readable").toBe(historyJobs);

    const withHistory = await costs();
    console.log(
      [
        `\nOne read, fresh node vs ${historyJobs} jobs of history (written at ${written.rate.toFixed(0)} jobs/s, ${(written.ms / 1000).toFixed(0)} s):`,
        `  list_open_jobs          ${JSON.stringify(fresh.openJobs)}  vs  ${JSON.stringify(withHistory.openJobs)}`,
        `  get_mesh_view (local)   ${JSON.stringify(fresh.meshViewLocal)}  vs  ${JSON.stringify(withHistory.meshViewLocal)}`,
        `  get_mesh_view (network) ${JSON.stringify(fresh.meshViewNetwork)}  vs  ${JSON.stringify(withHistory.meshViewNetwork)}`,
        `  median time: list_open_jobs ${fresh.openJobsMs.toFixed(1)} vs ${withHistory.openJobsMs.toFixed(1)} ms; get_mesh_view ${fresh.meshViewMs.toFixed(1)} vs ${withHistory.meshViewMs.toFixed(1)} ms; ` +
          `control (validation_status: one local get, no links) ${fresh.controlMs.toFixed(1)} vs ${withHistory.controlMs.toFixed(1)} ms`,
      ].join("\n"),
    );
    expect(withHistory.openJobs).toEqual(fresh.openJobs);
    for (const view of ["meshViewLocal", "meshViewNetwork"] as const) {
      // The same buckets (11 heartbeat minutes, 2 capability periods) and the same records (one
      // capability, one heartbeat). The window's own links may differ by up to two, whatever the
      // history: the fresh read's heartbeat may still be in the window, and a heartbeat in a new
      // 10-minute period links the capability there again.
      expect(withHistory[view].link_queries, view).toBe(fresh[view].link_queries);
      expect(withHistory[view].records, view).toBe(fresh[view].records);
      expect(withHistory[view].links, view).toBeGreaterThanOrEqual(fresh[view].links);
      expect(withHistory[view].links, view).toBeLessThanOrEqual(fresh[view].links + 2);
    }
    // Open jobs closed earlier in this 10-minute period are links the claimer reads, but by their
    // tag (the closing time) it fetches none of them; a job open now is one more link and record.
    const closedJobs: Uint8Array[] = [];
    for (let i = 0; i < closedOpenJobs; i++) closedJobs.push(await node.mesh.createJob(job(i, 500)));
    await new Promise((r) => setTimeout(r, 600));
    expect(await node.mesh.listOpenJobs()).toEqual([]);
    // (Those that closed in an earlier period than the read's are not read at all. A read can
    // straddle a period's end, so its period is the one at its start or at its end: both are allowed.)
    const period = (micros: number) => Math.floor(micros / 1e6 / 600);
    const closes = await Promise.all(closedJobs.map(async (h) => (await node.mesh.getJob(h))!.timestamp + 500_000));
    const readCost = async () => {
      const startedMs = Date.now();
      const cost = await node.mesh.listOpenJobsReadCost();
      const inPeriodOf = (ms: number) => closes.filter((c) => period(c) >= period(ms * 1000)).length;
      return { cost, closedLinks: [...new Set([inPeriodOf(startedMs), inPeriodOf(Date.now())])] };
    };
    const closedRead = await readCost();
    expect(closedRead.closedLinks).toContain(closedRead.cost.links);
    expect(closedRead.cost).toEqual({ ...fresh.openJobs, links: closedRead.cost.links, records: 0 });
    await node.mesh.createJob(job(-1, 60_000));
    expect((await node.mesh.listOpenJobs()).map((j) => j.entry.trace_id)).toEqual(["open--1"]);
    const openRead = await readCost();
    expect(openRead.closedLinks.map((n) => n + 1)).toContain(openRead.cost.links);
    expect(openRead.cost).toEqual({ ...fresh.openJobs, links: openRead.cost.links, records: 1 });
  }, 1_200_000);
});
