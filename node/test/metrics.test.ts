// GET /metrics on a real node (`ripple up`, alone on the local mesh, the tiny test model): scraped
// before and after exactly N asks and one MOE job through the local API, the job counters move by
// exactly N and 1 and nothing else job-related moves, the histograms count one observation per answer,
// and the engine's token counter grows by the tokens the answers report. An ask for a model nobody
// serves is refused at the API and moves nothing; one pinned to a peer outside the mesh, and one over
// the worker's max_tokens, each move their failure/refusal counters by exactly one.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { AskResult, MoeResult } from "@ripple-mesh/api-types";
import { LocalApiClient } from "../src/api/api-client.ts";
import { readApiDescriptor } from "../src/api/api-descriptor.ts";
import { modelsDir, repoRoot } from "../src/config/paths.mjs";
import { parsePrometheusText, type Exposition } from "./support/prometheus-text.ts";
import { TestFleet } from "./support/test-fleet.ts";

const TINY = "ripple-tiny-test";
const ASKS = 3;
const fleet = new TestFleet();

/** The default inference policy with two experts, both on the tiny model (pinned by its sha256). */
function tinyExpertsPolicy(): string {
  const policy = parse(readFileSync(join(repoRoot, "manifests", "distributed", "inference_policy.yaml"), "utf8"));
  policy.models[TINY] = { sha256: createHash("sha256").update(readFileSync(join(modelsDir(), `${TINY}.gguf`))).digest("hex") };
  policy.local_tier.min_parallel = 2;
  policy.local_tier.max_parallel = 2;
  policy.local_tier.experts = [
    { name: "tiny-chat", model: TINY, template: "chat_direct", sampling: { temperature: 0 }, weight: 1, specialization: ["short_answer"] },
    { name: "tiny-few-shot", model: TINY, template: "chat_few_shot", sampling: { temperature: 0 }, weight: 1, specialization: ["short_answer"] },
  ];
  const file = join(fleet.tempDir("rm-metrics-policy-"), "inference_policy.yaml");
  writeFileSync(file, stringify(policy));
  return file;
}

/** Every job-related series: what must not move unless the test made it move. */
const jobSeries = (e: Exposition): Map<string, number> => {
  const out = new Map<string, number>();
  for (const s of e.samples) {
    if (!/^ripple_(moe|ask|worker|engine_tokens|engine_generation|model_pull)/.test(s.name)) continue;
    out.set(`${s.name}${JSON.stringify(s.labels)}`, s.value);
  }
  return out;
};

/** The series whose value changed from `before` to `after` (new ones included), with the change. */
function moved(before: Exposition, after: Exposition): Record<string, number> {
  const [b, a] = [jobSeries(before), jobSeries(after)];
  const out: Record<string, number> = {};
  for (const [k, v] of a) if (v !== (b.get(k) ?? 0)) out[k] = v - (b.get(k) ?? 0);
  return out;
}

describe("GET /metrics on a real node", { timeout: 600_000 }, () => {
  let client: LocalApiClient;
  let url = "";
  const scrape = async (): Promise<Exposition> => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  };

  it("starts a node whose /metrics parses, with every job counter at 0", async () => {
    const node = fleet.up("metrics", ["--no-measure", "--inference-policy", tinyExpertsPolicy()], { env: { RIPPLE_LOG_LEVEL: "info" } });
    await node.waitUntilRunning();
    url = (await readApiDescriptor(node.dataDir)).url;
    client = await LocalApiClient.forDataDir(node.dataDir, { timeoutMs: 120_000 });
    const e = await scrape();
    expect(Object.values(Object.fromEntries(jobSeries(e))).every((v) => v === 0 || Number.isNaN(v))).toBe(true);
    expect(e.value("ripple_peers_online")).toBe(0); // alone on the mesh
    expect(e.value("ripple_conductor_restarts_total")).toBe(0);
    expect(e.value("ripple_kubo_restarts_total")).toBe(0);
    expect(e.value("process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it(`counts exactly ${ASKS} asks and one MOE job, their slots, and the tokens they report`, async () => {
    const before = await scrape();
    const asks: AskResult[] = [];
    for (let i = 0; i < ASKS; i++) asks.push(await client.ask({ model: TINY, prompt: `Say something about ${i}.`, max_tokens: 16 }));
    const moe: MoeResult = await client.moe({ prompt: "What is 2+2?", experts: 2, quorum: "all", max_tokens: 16 });
    const after = await scrape();

    expect(moe.model_votes).toHaveLength(2);
    const outcome = moe.consensus_reached ? "ok" : "no_consensus";
    const tokens = asks.reduce((n, a) => n + a.tokens, 0) + moe.model_votes.reduce((n, v) => n + v.tokens, 0);
    expect(tokens).toBeGreaterThan(0);
    console.log(`[metrics] ${ASKS} asks (${asks.map((a) => a.tokens).join("+")} tokens) and one MOE job (${moe.model_votes.map((v) => v.tokens).join("+")} tokens, ${outcome})`);

    const slots = "ripple_moe_slot_seconds";
    const seconds = `ripple_engine_generation_seconds_total{"model":"${TINY}"}`;
    const changes = moved(before, after);
    // Exactly these moved, by exactly this much (the histograms' sums and buckets are checked below).
    const { [seconds]: generationSeconds, ...rest } = changes;
    const counted = Object.fromEntries(Object.entries(rest).filter(([k]) => !/_(sum|bucket)\{/.test(k)));
    expect(counted).toEqual({
      'ripple_ask_jobs_total{"outcome":"ok"}': ASKS,
      [`ripple_moe_jobs_total{"outcome":"${outcome}"}`]: 1,
      // Every slot ran on this node's own worker: the asks' and the two experts'.
      'ripple_worker_jobs_total{"outcome":"done"}': ASKS + 2,
      "ripple_ask_seconds_count{}": ASKS,
      [`${slots}_count{}`]: 2,
      [`ripple_engine_tokens_total{"model":"${TINY}"}`]: tokens,
    });
    expect(generationSeconds).toBeGreaterThan(0);
    const askSeconds = asks.reduce((s, a) => s + a.latencyMs / 1000, 0);
    expect(after.value("ripple_ask_seconds_sum")! - before.value("ripple_ask_seconds_sum")!).toBeCloseTo(askSeconds, 2);
    const slotSeconds = moe.model_votes.reduce((s, v) => s + v.latency_ms / 1000, 0);
    expect(after.value(`${slots}_sum`)! - before.value(`${slots}_sum`)!).toBeCloseTo(slotSeconds, 2);
    expect(after.value(`${slots}_bucket`, { le: "+Inf" })! - before.value(`${slots}_bucket`, { le: "+Inf" })!).toBe(2);
    expect(after.value("ripple_engine_in_flight")).toBe(0);
    expect(after.value("ripple_engine_queue_depth")).toBe(0);
  });

  it("an ask no node can take moves the failed asks by exactly one; one refused at the API (unknown model) moves nothing", async () => {
    const before = await scrape();
    // Refused by the route before any job exists (404, like a malformed body): not an ask of the mesh.
    await expect(client.ask({ model: "no-such-model", prompt: "hello", max_tokens: 8 })).rejects.toMatchObject({ status: 404 });
    expect(moved(before, await scrape())).toEqual({});
    // A served model on a peer that is not in the mesh: the coordinator refuses it (no_peer, 503).
    await expect(client.ask({ model: TINY, prompt: "hello", max_tokens: 8, peer: "nobody" })).rejects.toMatchObject({ status: 503 });
    expect(moved(before, await scrape())).toEqual({ 'ripple_ask_jobs_total{"outcome":"failed"}': 1 });
  });

  it("an ask over the worker's max_tokens is refused by the worker: one refusal (over_limit), one failed ask", async () => {
    const before = await scrape();
    // Within the API's limit (2048) and the coordinator's, over the compute policy's worker.max_tokens (1024).
    await expect(client.ask({ model: TINY, prompt: "hello", max_tokens: 2000 })).rejects.toThrow(/max_tokens 2000/);
    expect(moved(before, await scrape())).toEqual({
      'ripple_ask_jobs_total{"outcome":"failed"}': 1,
      'ripple_worker_jobs_total{"outcome":"refused"}': 1,
      'ripple_worker_refusals_total{"reason":"over_limit"}': 1,
    });
  });
});
