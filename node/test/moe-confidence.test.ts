// Confidence weighting on a real 2-node local mesh (real daemons, conductors and the pinned models): alice
// weighs votes by confidence (reducer.confidence) and holds the experts' model files; bob's worker
// claims a confidence of 1 for every answer (worker/test-lies.ts). alice scores bob's answer with
// her own copy of the model and counts it with her figure, not bob's claim.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { LocalApiClient } from "../src/api/api-client.ts";
import { repoRoot } from "../src/config/paths.mjs";
import { testLiesFile, type TestLies } from "../src/worker/test-lies.ts";
import { seesOnline, statusOf } from "./support/mesh-views.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const fleet = new TestFleet();
const policyFile = join(fleet.tempDir("rm-confidence-policy-"), "inference_policy.yaml");
const policy = parse(readFileSync(join(repoRoot, "manifests", "distributed", "inference_policy.yaml"), "utf8"));
policy.reducer.confidence = true;
writeFileSync(policyFile, stringify(policy));

describe("confidence claims checked by the requester", { timeout: 600_000 }, () => {
  it("counts a remote worker's inflated confidence with the requester's own score of its answer", async () => {
    const bobDir = fleet.tempDir("rm-confidence-bob-");
    writeFileSync(testLiesFile(bobDir), JSON.stringify({ confidence: 1 } satisfies TestLies));
    const env = { RIPPLE_TEST_EXPERTS: "1" };
    const alice = fleet.up("alice", ["--no-measure", "--liveness-window", "8000", "--inference-policy", policyFile], { dataDir: fleet.tempDir("rm-confidence-alice-"), env });
    const bob = fleet.up("bob", ["--no-measure", "--liveness-window", "8000", "--inference-policy", policyFile], { dataDir: bobDir, env });
    await Promise.all([alice.waitUntilRunning(), bob.waitUntilRunning()]);
    const agents = await Promise.all([alice, bob].map(async (n) => (await statusOf(n)).agentPubKey!));
    await waitFor("alice and bob online to each other", async () => ((await Promise.all([alice, bob].map((n) => seesOnline(n, agents)))).every(Boolean) ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 500,
      diagnostics: fleet.diagnostics,
    });

    const client = await LocalApiClient.forDataDir(alice.dataDir, { timeoutMs: 240_000 });
    const r = await client.moe({ prompt: "What is the capital of France?", experts: 3, quorum: "all" });
    for (const v of r.model_votes) console.log(`[confidence] slot ${v.slot} ${v.expert} on ${v.peer}: ${JSON.stringify(v.output.slice(0, 40))} confidence ${v.confidence}`);
    const onBob = r.model_votes.filter((v) => v.peer === "bob");
    expect(onBob.length).toBeGreaterThanOrEqual(1);
    for (const v of onBob) {
      // bob claimed 1; alice scored the same answer with her copy of the model, and her figure counts.
      // Her log line is written before the answer but read from her stdout pipe, so it may come later.
      const mine = await alice.waitForLog((l) => l.job === r.job && l.peer === "bob" && l.slot === v.slot && typeof l.measured === "number", 10_000);
      expect(mine.claimed).toBe(1);
      expect(v.confidence).toBe(mine.measured);
      expect(v.confidence).toBeGreaterThan(0);
      if ((mine.measured as number) < 0.999) expect(v.confidence).toBeLessThan(1);
    }
    // alice's own answers carry her engine's figure.
    for (const v of r.model_votes.filter((v) => v.peer === "alice")) expect(v.confidence).toBeGreaterThan(0);
  });
});
