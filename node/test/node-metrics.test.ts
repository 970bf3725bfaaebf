// This node's metrics (node/src/metrics/node-metrics.ts) and GET /metrics: the instruments count what
// they are told, scrape-time figures are read at every scrape, the output is strict Prometheus text
// (parsed by support/prometheus-text.ts), a refusal reason outside the fixed set counts as "other",
// two daemons' registries do not mix, and the route sits behind the local API's guard.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { MoeResult } from "@ripple-mesh/api-types";
import { startLocalApi } from "../src/api/local-api.ts";
import { createLogger } from "../src/log.ts";
import { NodeMetrics, workerRefusalReasons, type ScrapeFigures } from "../src/metrics/node-metrics.ts";
import { parsePrometheusText } from "./support/prometheus-text.ts";

const log = createLogger("test", "silent");
const scrape = async (m: NodeMetrics) => parsePrometheusText(await m.text());

function result(consensus: boolean, rejected = 0): MoeResult {
  return {
    response: "4",
    consensus_score: consensus ? 1 : 0.3,
    consensus_reached: consensus,
    model_votes: [],
    trace_id: "t",
    task_type: "math",
    job: null,
    wall_ms: 10,
    failed_slots: [],
    diversity: "local",
    cancelled_slots: [],
    stopped_early: false,
    rejected_answers: Array.from({ length: rejected }, (_, i) => ({ slot: i, epoch: 0, peer: "p", reason: "forged" })),
  };
}

describe("NodeMetrics", () => {
  it("starts every fixed series at 0, with HELP and TYPE, and process metrics from prom-client", async () => {
    const metrics = new NodeMetrics();
    // prom-client counts CPU time from the collector's creation on: spend some, so that the figure
    // cannot round to 0 when the scrape follows at once.
    for (const until = process.hrtime.bigint() + 30_000_000n; process.hrtime.bigint() < until; );
    const e = await scrape(metrics);
    for (const outcome of ["ok", "failed", "no_consensus"]) expect(e.value("ripple_moe_jobs_total", { outcome })).toBe(0);
    for (const outcome of ["ok", "failed"]) expect(e.value("ripple_ask_jobs_total", { outcome })).toBe(0);
    for (const outcome of ["done", "failed", "refused"]) expect(e.value("ripple_worker_jobs_total", { outcome })).toBe(0);
    for (const reason of workerRefusalReasons) expect(e.value("ripple_worker_refusals_total", { reason })).toBe(0);
    expect(e.value("ripple_moe_slot_seconds_count")).toBe(0);
    expect(e.value("ripple_model_pull_bytes_total")).toBe(0);
    for (const [name, type] of [["ripple_moe_jobs_total", "counter"], ["ripple_moe_slot_seconds", "histogram"], ["ripple_peers_online", "gauge"], ["ripple_engine_queue_depth", "gauge"]] as const) {
      expect(e.families.get(name)).toMatchObject({ type });
      expect(e.families.get(name)!.help!.length).toBeGreaterThan(10);
    }
    expect(e.value("process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(e.value("process_resident_memory_bytes")).toBeGreaterThan(0);
    // Every ripple_ family is documented in the README's list.
    const readme = (await import("node:fs")).readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    for (const name of [...e.families.keys()].filter((n) => n.startsWith("ripple_"))) expect(readme, name).toContain(name);
  });

  it("counts what it is told", async () => {
    const m = new NodeMetrics({ defaultMetrics: false });
    m.moeJobFinished(result(true, 2));
    m.moeJobFinished(result(true));
    m.moeJobFinished(result(false));
    m.moeJobFinished(undefined);
    m.moeEvent({ type: "moe:answer", slot: 0, expert: "e", peer: "p", latency_ms: 300 });
    m.moeEvent({ type: "moe:answer", slot: 1, expert: "e", peer: "p", latency_ms: 7000 });
    m.moeEvent({ type: "moe:reassigned", slot: 1, expert: "e", from: "a", to: "b", epoch: 1, reason: "timeout" });
    m.moeEvent({ type: "moe:token", slot: 1, text: "x" });
    await m.observeAsk(async () => ({ latencyMs: 1500 }));
    await expect(m.observeAsk(async () => Promise.reject(new Error("no peer")))).rejects.toThrow("no peer");
    m.workerJobFinished("done");
    m.workerJobFinished("done");
    m.workerJobFinished("failed");
    m.workerJobRefused("policy_refused");
    m.workerJobRefused("requester_quota");
    m.workerJobRefused("some-code-a-peer-made-up");
    m.generated("tiny", 40, 2);
    m.generated("tiny", 10, 0.5);
    m.generated("qwen", 7, 1);
    m.modelBytesPulled(1000);
    m.modelBytesPulled(24);

    const e = await scrape(m);
    expect(e.value("ripple_moe_jobs_total", { outcome: "ok" })).toBe(2);
    expect(e.value("ripple_moe_jobs_total", { outcome: "no_consensus" })).toBe(1);
    expect(e.value("ripple_moe_jobs_total", { outcome: "failed" })).toBe(1);
    expect(e.value("ripple_moe_rejected_answers_total")).toBe(2);
    expect(e.value("ripple_moe_reassignments_total")).toBe(1);
    expect(e.value("ripple_moe_slot_seconds_count")).toBe(2);
    expect(e.value("ripple_moe_slot_seconds_sum")).toBeCloseTo(7.3);
    expect(e.value("ripple_moe_slot_seconds_bucket", { le: "0.5" })).toBe(1);
    expect(e.value("ripple_moe_slot_seconds_bucket", { le: "10" })).toBe(2);
    expect(e.value("ripple_moe_slot_seconds_bucket", { le: "+Inf" })).toBe(2);
    expect(e.value("ripple_ask_jobs_total", { outcome: "ok" })).toBe(1);
    expect(e.value("ripple_ask_jobs_total", { outcome: "failed" })).toBe(1);
    expect(e.value("ripple_ask_seconds_count")).toBe(1);
    expect(e.value("ripple_ask_seconds_sum")).toBeCloseTo(1.5);
    expect(e.value("ripple_worker_jobs_total", { outcome: "done" })).toBe(2);
    expect(e.value("ripple_worker_jobs_total", { outcome: "failed" })).toBe(1);
    expect(e.value("ripple_worker_jobs_total", { outcome: "refused" })).toBe(3);
    expect(e.value("ripple_worker_refusals_total", { reason: "policy_refused" })).toBe(1);
    expect(e.value("ripple_worker_refusals_total", { reason: "requester_quota" })).toBe(1);
    // A reason outside the fixed set does not become a label value of its own.
    expect(e.value("ripple_worker_refusals_total", { reason: "other" })).toBe(1);
    expect(e.samples.some((s) => s.labels.reason === "some-code-a-peer-made-up")).toBe(false);
    expect(e.sum("ripple_worker_refusals_total")).toBe(3);
    expect(e.value("ripple_engine_tokens_total", { model: "tiny" })).toBe(50);
    expect(e.value("ripple_engine_tokens_total", { model: "qwen" })).toBe(7);
    expect(e.value("ripple_engine_generation_seconds_total", { model: "tiny" })).toBeCloseTo(2.5);
    expect(e.value("ripple_model_pull_bytes_total")).toBe(1024);
  });

  it("reads the daemon's figures at every scrape", async () => {
    const m = new NodeMetrics({ defaultMetrics: false });
    let reads = 0;
    let figures: ScrapeFigures = { engineRunning: 1, engineQueued: 3, peersOnline: 2, peersKnown: 5, conductorRestarts: 1, kuboRestarts: 0 };
    m.readFrom(() => (reads++, figures));
    const first = await scrape(m);
    expect(reads).toBe(1); // one read per scrape, not one per instrument
    expect(first.value("ripple_engine_in_flight")).toBe(1);
    expect(first.value("ripple_engine_queue_depth")).toBe(3);
    expect(first.value("ripple_peers_online")).toBe(2);
    expect(first.value("ripple_peers_known")).toBe(5);
    expect(first.value("ripple_conductor_restarts_total")).toBe(1);
    expect(first.value("ripple_kubo_restarts_total")).toBe(0);
    await new Promise((r) => setTimeout(r, 150));
    figures = { peersOnline: 0, conductorRestarts: 3 }; // e.g. before the node has joined: the rest is 0
    const second = await scrape(m);
    expect(second.value("ripple_peers_online")).toBe(0);
    expect(second.value("ripple_peers_known")).toBe(0);
    expect(second.value("ripple_engine_in_flight")).toBe(0);
    expect(second.value("ripple_conductor_restarts_total")).toBe(3);
  });

  it("keeps one registry per instance: two daemons in one process do not mix", async () => {
    const a = new NodeMetrics({ defaultMetrics: false });
    const b = new NodeMetrics({ defaultMetrics: false });
    a.workerJobFinished("done");
    a.generated("tiny", 5, 1);
    const [ea, eb] = [await scrape(a), await scrape(b)];
    expect(ea.value("ripple_worker_jobs_total", { outcome: "done" })).toBe(1);
    expect(eb.value("ripple_worker_jobs_total", { outcome: "done" })).toBe(0);
    expect(eb.value("ripple_engine_tokens_total", { model: "tiny" })).toBeUndefined();
  });

  it("the test's parser is strict: it refuses what is not the exposition format", () => {
    const ok = '# HELP x_total a counter\n# TYPE x_total counter\nx_total{a="1"} 2\n';
    expect(parsePrometheusText(ok).value("x_total", { a: "1" })).toBe(2);
    expect(() => parsePrometheusText(ok.replace('{a="1"}', "{a=1}"))).toThrow(/quotes/);
    expect(() => parsePrometheusText(ok.replace(" 2\n", " two\n"))).toThrow(/bad value|not `name/);
    expect(() => parsePrometheusText(ok + "y 1\n")).toThrow(/no declared family/);
    expect(() => parsePrometheusText(ok + "# a note\n")).toThrow(/neither HELP nor TYPE/);
    expect(() => parsePrometheusText(ok.trimEnd())).toThrow(/newline/);
    expect(() => parsePrometheusText("# TYPE h histogram\n# HELP h h\nh_bucket 1\n")).toThrow(/without le/);
  });
});

describe("GET /metrics", () => {
  const source = (metrics?: NodeMetrics) => ({
    status: async () => ({}),
    peers: async () => [],
    shutdown: async () => {},
    events: new EventEmitter(),
    ...(metrics ? { metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }) } : {}),
  });

  it("serves the registry as Prometheus text, behind the same guard as the other routes", async () => {
    const metrics = new NodeMetrics();
    metrics.workerJobRefused("busy");
    const token = "t".repeat(32);
    const api = await startLocalApi({ log, token, source: source(metrics) });
    try {
      const res = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const e = parsePrometheusText(await res.text());
      expect(e.value("ripple_worker_refusals_total", { reason: "busy" })).toBe(1);
      expect(e.value("process_resident_memory_bytes")).toBeGreaterThan(0);
      expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${token}`, origin: "http://evil.example" } })).status).toBe(403);
    } finally {
      await api.close();
    }
  });

  it("is 404 when the source has no metrics", async () => {
    const api = await startLocalApi({ log, source: source() });
    try {
      const res = await fetch(`${api.url}/metrics`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { fix: string } }).error.fix).not.toContain("/metrics");
    } finally {
      await api.close();
    }
  });
});
