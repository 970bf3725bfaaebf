// The MOE's cloud tier against real nodes: alice's inference policy lists bob's OpenAI-compatible
// endpoint as a cloud provider (bob's API token read from an environment variable), so one slot of
// alice's job is answered by bob over HTTP and votes. In the same job, a provider with the wrong key
// fails with bob's 401, and a provider that never answers times out and, with fallback_on_timeout,
// hands its slot to a local expert. Votes are weighted by confidence (reducer.confidence).
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { MoeResult } from "@ripple-mesh/api-types";
import { LocalApiClient } from "../src/api/api-client.ts";
import { repoRoot } from "../src/config/paths.mjs";
import { loadInferencePolicy } from "../src/config/inference-policy.ts";
import { confidenceFactor } from "../src/moe/vote-confidence.ts";
import { countedWeights } from "../src/moe/vote-voice.ts";
import { TestFleet } from "./support/test-fleet.ts";

const fleet = new TestFleet();
const bobToken = "cloud-tier-test-token-0123456789abcdef";
const model = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const silentTimeoutMs = 1500;

/** An HTTP server on loopback that takes requests and never answers them (a provider that hangs). */
async function silentServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer(() => void requests++);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A free loopback port for bob's API, so that alice's policy can name it before bob starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function cloudPolicy(bobApi: string, silentUrl: string): string {
  const policy = parse(readFileSync(join(repoRoot, "manifests", "distributed", "inference_policy.yaml"), "utf8"));
  policy.local_tier.min_parallel = 1;
  // Votes weighted by the confidence workers report (the cloud tier reports none: it counts in full).
  policy.reducer.confidence = true;
  const provider = { model, weight: 1, priority: 1, timeout_ms: 120_000, fallback_on_timeout: false };
  policy.cloud_tier = {
    enabled: true,
    providers: [
      { ...provider, name: "bob", url: `${bobApi}/v1`, api_key_env: "BOB_API_KEY" },
      { ...provider, name: "bob-wrong-key", url: `${bobApi}/v1`, api_key_env: "WRONG_API_KEY", priority: 2 },
      { ...provider, name: "silent", url: silentUrl, api_key_env: "BOB_API_KEY", priority: 3, timeout_ms: silentTimeoutMs, fallback_on_timeout: true },
    ],
  };
  const file = join(fleet.tempDir("rm-cloud-policy-"), "inference_policy.yaml");
  writeFileSync(file, stringify(policy));
  return file;
}

describe("the MOE cloud tier on real nodes", { timeout: 600_000 }, () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  afterAll(async () => silent?.close());

  it("a slot answered by another node's OpenAI endpoint votes; a wrong key fails with 401; a silent provider falls back to a local expert", async () => {
    silent = await silentServer();
    const bobPort = await freePort();
    const bobApi = `http://127.0.0.1:${bobPort}`;
    const bob = fleet.up("bob", ["--no-measure", "--api-port", String(bobPort)], { env: { RIPPLE_API_TOKEN: bobToken } });
    const alice = fleet.up("alice", ["--no-measure", "--inference-policy", cloudPolicy(bobApi, silent.url)], { env: { BOB_API_KEY: bobToken, WRONG_API_KEY: "not-bobs-token-0123456789abcdef0123" } });
    await Promise.all([alice.waitUntilRunning(), bob.waitUntilRunning()]);

    const client = await LocalApiClient.forDataDir(alice.dataDir);
    const result: MoeResult = await client.moe({ prompt: "What is the capital of France?", experts: 1, quorum: "all", max_tokens: 16 }, { timeoutMs: 300_000 });
    console.log(`[cloud-tier] "${result.response}" consensus ${result.consensus_score}; votes: ${result.model_votes.map((v) => `${v.slot}:${v.expert}@${v.peer}=${JSON.stringify(v.output.slice(0, 40))}`).join(" | ")}; failed: ${JSON.stringify(result.failed_slots)}`);

    // bob answered its slot over HTTP, with the key alice read from her environment, and it voted.
    const cloudVote = result.model_votes.find((v) => v.expert === "cloud:bob");
    expect(cloudVote, JSON.stringify(result)).toBeDefined();
    expect(cloudVote!.peer).toBe("cloud:bob");
    expect(cloudVote!.model).toBe(model);
    expect(cloudVote!.output.trim().length).toBeGreaterThan(0);
    expect(cloudVote!.tokens).toBeGreaterThan(0);
    expect(cloudVote!.response_hash).toMatch(/^[0-9a-f]{64}$/);
    const slotOf = (expert: string) => result.failed_slots.find((f) => f.expert === expert);
    // The wrong key reached bob and was refused by his API's token check.
    expect(slotOf("cloud:bob-wrong-key")?.error).toMatch(/^HTTP 401/);
    // The silent provider got the request, timed out, and a local expert took a slot of its own.
    expect(silent.requests()).toBe(1);
    expect(slotOf("cloud:silent")?.error).toBe(`no answer within ${silentTimeoutMs} ms`);
    const local = result.model_votes.filter((v) => !v.peer.startsWith("cloud:"));
    expect(local).toHaveLength(2); // the one local expert asked, and its fallback run
    expect(local[0]!.expert).toBe(local[1]!.expert);
    // The job lists the fallback slot (fallback_slots), so a worker's assignment check accepts it wherever it is placed.
    expect(bob.logs.filter((l) => l.msg === "job not run: its assignment does not back it")).toEqual([]);
    // Every vote and every failure has a slot of its own.
    const slots = [...result.model_votes.map((v) => v.slot), ...result.failed_slots.map((f) => f.slot)];
    expect(new Set(slots).size).toBe(slots.length);
    expect(result.model_votes.map((v) => v.expert).sort()).toEqual(["cloud:bob", local[0]!.expert, local[0]!.expert].sort());
    expect(result.response.toLowerCase()).toContain("paris");

    // reducer.confidence: every local vote carries the probability its model gave its answer and
    // counts weight × that^reducer.confidence_exponent (then one voice per remote machine); the cloud
    // vote has none and counts in full.
    for (const vote of local) {
      expect(vote.confidence).toBeGreaterThan(0);
      expect(vote.confidence).toBeLessThanOrEqual(1);
    }
    expect(cloudVote!.confidence).toBeUndefined();
    const exponent = loadInferencePolicy().reducer.confidence_exponent; // alice's policy is the shipped one with its cloud tier
    const expected = countedWeights(result.model_votes.map((x) => ({ slot: x.slot, weight: x.weight * confidenceFactor(x.confidence, exponent), remotePeer: x.peer_id })));
    for (const vote of result.model_votes) expect(vote.counted_weight).toBeCloseTo(expected.get(vote.slot)!, 3);
    expect(cloudVote!.counted_weight).toBe(cloudVote!.weight);
  });
});
