// Rehosting on a real local mesh (real daemons, conductors, kubo nodes, real models), in the
// loopback-only namespace: storage policy `replication.rehost` keeps a pinned model at
// `min_providers` (2) verified copies and gives its copy back once the mesh no longer needs it.
// - alice publishes Gemma and Qwen, bob pulls Gemma; alice leaves: Gemma has one live provider (bob),
//   Qwen none;
// - dave joins with rehost on (budget 0.3 GB) and pulls Gemma on his own (pinned by his inference
//   policy, within his budget), but neither Qwen (beyond the budget) nor the tiny model (pinned by
//   nobody there); bob then counts two verified providers of Gemma;
// - alice comes back with her copy: dave's is the newest of three where two are wanted, so after
//   three checks he gives it back (unregistered, unpinned, file deleted, budget freed), and bob
//   counts alice and himself, not dave's old record.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ShardRow } from "@ripple-mesh/api-types";
import { describe, expect, it } from "vitest";
import { LocalApiClient } from "../src/api/api-client.ts";
import { modelsDir } from "../src/config/paths.mjs";
import { defaultStoragePolicyFile } from "../src/config/storage-policy.ts";
import { peersOf, seesOnline, statusOf } from "./support/mesh-views.ts";
import { ripple, type RippleDaemon } from "./support/ripple-process.ts";
import { TestFleet } from "./support/test-fleet.ts";
import { waitFor } from "./support/wait-for.ts";

const QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m";
const GEMMA = "gemma-3-270m-q4_k_m";
const TINY = "ripple-tiny-test";

const fleet = new TestFleet();
const { diagnostics } = fleet;
const tmp = (prefix: string) => fleet.tempDir(prefix);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const policyDir = tmp("rm-rehost-policy-");
const policyText = readFileSync(defaultStoragePolicyFile, "utf8").replace("swarm_bind: lan", "swarm_bind: loopback");
const policyFile = join(policyDir, "storage_policy.yaml");
writeFileSync(policyFile, policyText);
const rehostOn = policyText.replace(/  rehost:\n    enabled: false\n    max_gb: 20\n    check_interval_ms: 60000/, "  rehost:\n    enabled: true\n    max_gb: 0.3\n    check_interval_ms: 3000");
const davePolicyFile = join(policyDir, "dave_storage_policy.yaml");
writeFileSync(davePolicyFile, rehostOn);

const startNode = (name: string, o: { env?: NodeJS.ProcessEnv; policy?: string; dataDir?: string } = {}): RippleDaemon =>
  fleet.up(name, ["--no-measure", "--liveness-window", "8000", "--storage-policy", o.policy ?? policyFile], { dataDir: o.dataDir ?? tmp(`rm-rehost-${name}-`), env: o.env ?? {} });

async function kuboPinned(apiUrl: string, cid: string): Promise<boolean> {
  const res = await fetch(`${apiUrl}/api/v0/pin/ls?arg=${cid}&type=recursive`, { method: "POST" });
  return res.ok;
}

type RehostingView = { enabled: boolean; usedBytes: number; budgetBytes: number; models: Array<{ name: string; size: number }>; surplus: Array<{ name: string; checks: number }> };

describe("rehosting on a 3-node local mesh", { timeout: 900_000 }, () => {
  let alice: RippleDaemon, bob: RippleDaemon;
  let b: LocalApiClient, d: LocalApiClient;
  let daveModels = "";
  let gemmaCid = "";

  /** Gemma's row on bob, providers checked, once `until` holds (its providers' verdicts are the diagnostics). */
  async function bobsGemmaRow(what: string, until: (r: ShardRow) => boolean): Promise<ShardRow> {
    let last = "";
    return waitFor(
      what,
      async () => {
        const r = (await b.shards({ verify: true })).find((x) => x.cid === gemmaCid);
        last = JSON.stringify(r?.providers.map((p) => [p.name, p.online, p.verified, p.reason]));
        return r && until(r) ? r : undefined;
      },
      { timeoutMs: 90_000, diagnostics: async () => last },
    );
  }

  it("leaves Gemma with one live provider: alice published it, bob pulled it, alice left", async () => {
    expect(rehostOn).toContain("max_gb: 0.3");
    alice = startNode("alice");
    bob = startNode("bob", { env: { RIPPLE_MODELS_DIR: tmp("rm-rehost-bob-models-") } });
    await Promise.all([alice.waitUntilRunning(), bob.waitUntilRunning()]);
    const [sa, sb] = await Promise.all([statusOf(alice), statusOf(bob)]);
    await waitFor("alice and bob online to each other", async () => ((await seesOnline(alice, [sb.agentPubKey!])) && (await seesOnline(bob, [sa.agentPubKey!])) ? true : undefined), {
      timeoutMs: 180_000,
      diagnostics,
    });
    const a = await LocalApiClient.forDataDir(alice.dataDir, { timeoutMs: 60_000 });
    b = await LocalApiClient.forDataDir(bob.dataDir, { timeoutMs: 30_000 });
    const gemma = await a.publishModel(GEMMA);
    await Promise.all([a.publishModel(QWEN), a.publishModel(TINY)]);
    gemmaCid = gemma.cid;
    await waitFor("bob sees Gemma and its provider", async () => ((await b.shards({})).find((r) => r.cid === gemma.cid && r.replicas >= 1) ? true : undefined), { timeoutMs: 120_000 });
    const pulled = await b.pullModel({ ref: gemma.cid });
    expect(pulled).toMatchObject({ name: GEMMA, sha256: gemma.sha256, alreadyPresent: false });
    await waitFor("bob announced himself as a provider of Gemma", async () => ((await b.providers(gemma.cid)).some((p) => p.self) ? true : undefined), { timeoutMs: 30_000 });
    await alice.kill("SIGTERM");
    await waitFor("bob sees alice offline", async () => ((await peersOf(bob)).find((p) => p.name === "alice")?.online === false ? true : undefined), { timeoutMs: 60_000 });
  });

  it("re-replicates on its own a pinned model left with too few providers, within its rehosting budget", async () => {
    const gemmaSha = sha256(readFileSync(join(modelsDir(), `${GEMMA}.gguf`)));
    daveModels = tmp("rm-rehost-dave-models-");
    const dave = startNode("dave", { env: { RIPPLE_MODELS_DIR: daveModels }, policy: davePolicyFile });
    await dave.waitUntilRunning();
    d = await LocalApiClient.forDataDir(dave.dataDir, { timeoutMs: 30_000 });
    const view = await waitFor("dave rehosted Gemma on his own", async () => {
      const v = (await d.ipfs()).rehosting as RehostingView;
      return v.models.length > 0 ? v : undefined;
    }, { timeoutMs: 240_000, diagnostics });
    expect((await d.localModels()).find((m) => m.name === GEMMA)?.sha256).toBe(gemmaSha);
    // `ripple ipfs` shows it (its sections as JSON, not "[object Object]").
    const cli = await ripple(["--data-dir", dave.dataDir, "ipfs"]);
    expect(cli.stdout).toMatch(/^rehosting +\{"enabled":true,"budgetBytes":300000000,"usedBytes":253113024,/m);
    expect(cli.stdout).not.toContain("[object Object]");
    expect(view).toMatchObject({ enabled: true, budgetBytes: 300_000_000, usedBytes: 253_113_024, models: [{ name: GEMMA, size: 253_113_024 }] });
    // Qwen stays short on dave's side (it does not fit what is left of his budget), and the tiny model
    // (pinned by nobody here) is never taken on.
    await new Promise((r) => setTimeout(r, 7000)); // two more checks
    expect((await d.localModels()).map((m) => m.name).sort()).toEqual([GEMMA]);
    const row = await bobsGemmaRow("bob counts dave as a verified provider of Gemma", (r) => r.replicas === 2);
    expect(row.underReplicated).toBe(false);
    expect(row.providers.filter((p) => p.verified).map((p) => p.name).sort()).toEqual(["bob", "dave"]);
    console.log(`[rehosting] dave rehosted ${GEMMA} (${gemmaCid}) on his own after alice left; Qwen left for a node with room`);
  });

  it("gives the rehosted copy back once alice is back with hers: the two oldest providers keep theirs, dave's disk and budget are freed", async () => {
    alice = startNode("alice", { dataDir: alice.dataDir });
    await alice.waitUntilRunning();
    let sawSurplus = false;
    const t0 = Date.now();
    await waitFor(
      "dave gave his Gemma copy back",
      async () => {
        const v = (await d.ipfs()).rehosting as RehostingView;
        sawSurplus ||= v.surplus.some((s) => s.name === GEMMA);
        // Unregistered first (out of the view), then unpinned, collected and deleted.
        return v.models.length === 0 && !existsSync(join(daveModels, `${GEMMA}.gguf`)) ? v : undefined;
      },
      { timeoutMs: 240_000, diagnostics },
    );
    expect(existsSync(join(daveModels, `${GEMMA}.gguf`))).toBe(false);
    expect((await d.localModels()).map((m) => m.name)).not.toContain(GEMMA);
    const daveIpfs = await d.ipfs();
    expect(await kuboPinned(String(daveIpfs.apiUrl), gemmaCid)).toBe(false);
    expect((daveIpfs.rehosting as RehostingView).usedBytes).toBe(0);
    // Two verified providers remain (alice and bob); dave's old record is a claim nobody counts.
    const row = await bobsGemmaRow("bob counts alice and himself, not dave", (r) => r.providers.some((p) => p.name === "alice" && p.verified) && r.providers.some((p) => p.name === "dave" && p.verified === false));
    expect(row.replicas).toBe(2);
    expect(row.underReplicated).toBe(false);
    expect(row.providers.filter((p) => p.verified).map((p) => p.name).sort()).toEqual(["alice", "bob"]);
    // Nobody takes it on again: it is not short.
    await new Promise((r) => setTimeout(r, 7000)); // two more of dave's checks
    expect((await d.localModels()).map((m) => m.name)).not.toContain(GEMMA);
    console.log(`[rehosting] dave gave ${GEMMA} back ${Date.now() - t0} ms after alice restarted (surplus seen in his view: ${sawSurplus})`);
  });
});
