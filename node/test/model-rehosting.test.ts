// Rehosting under-replicated models (storage policy `replication.rehost`): which node takes its turn
// (the same order on every node), how the turn widens while nobody helps, what is never taken on
// (unpinned or differently pinned names, another file under the name, beyond the budget), and the
// runner: verified recount, the pull, the budget kept across restarts in rehosted.json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProviderView, ShardRow } from "@ripple-mesh/api-types";
import { afterAll, describe, expect, it, vi } from "vitest";
import { ModelRehosting, type ModelRehostingOptions } from "../src/artifacts/model-rehosting.ts";
import { nextMissedChecks, planRehosting, rehostRankKey, type RehostInput } from "../src/artifacts/rehost-plan.ts";
import { defaultStoragePolicyFile, loadStoragePolicy, StoragePolicyError } from "../src/config/storage-policy.ts";
import { createLogger } from "../src/log.ts";
import type { PeerInfo } from "../src/mesh/peer-view.ts";

const dir = mkdtempSync("/tmp/rm-rehost-units-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHA = "a".repeat(64);
const OTHER_SHA = "b".repeat(64);
const agents = ["uhCAkalice", "uhCAkbob", "uhCAkcarol", "uhCAkdave", "uhCAkerin"];

function provider(agent: string, o: Partial<ProviderView> = {}): ProviderView {
  return { agent, name: agent.slice(5), peerId: null, online: true, self: false, verified: null, reason: null, ...o };
}

function row(o: Partial<ShardRow> & { providers?: ProviderView[] } = {}): ShardRow {
  const providers = o.providers ?? [provider(agents[0]!)];
  const replicas = o.replicas ?? providers.filter((p) => p.online).length;
  const minProviders = o.minProviders ?? 2;
  return { name: "qwen", cid: "bafyqwen", sha256: SHA, size: 400e6, publishedBy: [agents[0]!], local: false, ...o, providers, replicas, minProviders, underReplicated: replicas < minProviders };
}

function input(self: string, o: Partial<RehostInput> = {}): RehostInput {
  return { rows: [row()], self, onlinePeers: agents, pinnedSha256: () => SHA, holds: () => false, budgetLeftBytes: 20e9, missedChecks: new Map(), ...o };
}

/** The helpers of `cid` (every agent but the providers) in the order every node computes. */
const order = (cid: string, helpers: string[]) => [...helpers].sort((a, b) => rehostRankKey(cid, a).localeCompare(rehostRankKey(cid, b)));

describe("planRehosting: whose turn", () => {
  it("has exactly as many helpers pull as the model is short, the same ones whichever node computes it", () => {
    const helpers = agents.slice(1);
    const ranked = order("bafyqwen", helpers);
    const pulling = helpers.filter((self) => planRehosting(input(self))[0]!.action === "pull");
    expect(pulling).toEqual([ranked[0]]); // 1 provider of 2: one helper, the first in the order
    const shortTwo = helpers.filter((self) => planRehosting(input(self, { rows: [row({ minProviders: 3 })] }))[0]!.action === "pull");
    expect(shortTwo.sort()).toEqual(ranked.slice(0, 2).sort());
    // Another CID, another order: the load spreads over helpers.
    const orders = new Set(["bafy1", "bafy2", "bafy3", "bafy4", "bafy5", "bafy6"].map((cid) => order(cid, helpers)[0]));
    expect(orders.size).toBeGreaterThan(1);
  });

  it("widens the turn by one helper per check that still found the model short", () => {
    const ranked = order("bafyqwen", agents.slice(1));
    const last = ranked[3]!;
    let missed = new Map<string, number>();
    const actions: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = planRehosting(input(last, { missedChecks: missed }));
      actions.push(d[0]!.action);
      missed = nextMissedChecks(missed, d);
    }
    expect(actions).toEqual(["wait", "wait", "wait", "pull"]);
    // A model that is no longer short starts again from its first turn.
    expect(nextMissedChecks(new Map([["bafyqwen", 3]]), []).size).toBe(0);
  });

  it("never counts a provider as a helper, nor itself when it is listed as a provider", () => {
    const providers = [provider(agents[0]!), provider(agents[1]!, { online: false })];
    const r = row({ providers });
    const d = planRehosting(input(agents[0]!, { rows: [r] }));
    expect(d[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("listed as one of its providers") });
    // An offline provider is no replica: it may help like anyone (its own copy counts once it is back).
    const ranks = agents.slice(1).map((a) => (planRehosting(input(a, { rows: [r] }))[0] as { rank: number }).rank);
    expect(ranks.sort()).toEqual([0, 1, 2, 3]);
  });

  it("takes on only what this node pins, does not hold under the name, and fits the budget", () => {
    const first = order("bafyqwen", agents.slice(1))[0]!;
    expect(planRehosting(input(first, { pinnedSha256: () => undefined }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("no sha256 is pinned") });
    expect(planRehosting(input(first, { pinnedSha256: () => OTHER_SHA }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("not the one pinned") });
    expect(planRehosting(input(first, { holds: () => true }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("another file under this name") });
    expect(planRehosting(input(first, { budgetLeftBytes: 399e6 }))[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("budget") });
    // Two pulls in one check must fit together.
    const rows = [row(), row({ name: "qwen2", cid: "bafyqwen" })];
    const both = planRehosting(input(first, { rows, budgetLeftBytes: 500e6 }));
    expect(both.map((d) => d.action)).toEqual(["pull", "skip"]);
  });

  it("leaves alone models that are well replicated or already pinned here", () => {
    expect(planRehosting(input(agents[1]!, { rows: [row({ providers: [provider(agents[0]!), provider(agents[2]!)] })] }))).toEqual([]);
    expect(planRehosting(input(agents[1]!, { rows: [row({ local: true })] }))).toEqual([]);
  });
});

describe("storage policy: replication.rehost", () => {
  it("is off by default and reads from older policies without it", () => {
    expect(loadStoragePolicy().replication.rehost).toEqual({ enabled: false, max_gb: 20, check_interval_ms: 60_000 });
    const older = join(dir, "older.yaml");
    writeFileSync(older, readFileSync(defaultStoragePolicyFile, "utf8").replace(/  rehost:\n(    .*\n)+/, ""));
    expect(readFileSync(older, "utf8")).not.toContain("rehost:");
    expect(loadStoragePolicy(older).replication.rehost.enabled).toBe(false);
  });

  it("names a bad value", () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, readFileSync(defaultStoragePolicyFile, "utf8").replace("check_interval_ms: 60000", "check_interval_ms: 10"));
    expect(() => loadStoragePolicy(bad)).toThrow(StoragePolicyError);
    expect(() => loadStoragePolicy(bad)).toThrow(/replication\.rehost\.check_interval_ms/);
  });
});

describe("ModelRehosting", () => {
  const log = createLogger("rehost-test", "silent");
  const peers = agents.map((agent) => ({ agent, online: true }) as PeerInfo);

  function rehosting(o: { rows: ShardRow[]; self: string; verified?: ProviderView[]; ledger?: string; held?: Map<string, string> }) {
    const held = o.held ?? new Map<string, string>();
    const pull = vi.fn(async (name: string, choice: { sha256?: string } = {}) => {
      held.set(name, choice.sha256!);
      return {} as never;
    });
    const verifiedProviders = vi.fn(async () => o.verified ?? []);
    const opts: ModelRehostingOptions = {
      shards: { shards: async () => o.rows, pull: pull as never, pinnedSha256: () => SHA },
      verifiedProviders,
      store: { has: (n: string) => held.has(n), get: (n: string) => ({ sha256: held.get(n)! }) as never },
      policy: { enabled: true, max_gb: 1, check_interval_ms: 60_000 },
      self: o.self,
      peers: () => peers,
      ledgerFile: o.ledger ?? join(dir, `ledger-${Math.random().toString(36).slice(2)}.json`),
      log,
    };
    return { r: new ModelRehosting(opts), pull, verifiedProviders, held, opts };
  }

  it("pulls the model whose turn it is by its pinned sha256, records it, and counts it against the budget", async () => {
    const first = order("bafyqwen", agents.slice(1))[0]!;
    const ledger = join(dir, "ledger-budget.json");
    const { r, pull } = rehosting({ rows: [row({ size: 600e6 })], self: first, ledger });
    expect((await r.check()).map((d) => d.action)).toEqual(["pull"]);
    expect(pull).toHaveBeenCalledWith("qwen", { sha256: SHA });
    expect(r.describe()).toMatchObject({ enabled: true, budgetBytes: 1e9, usedBytes: 600e6, models: [{ name: "qwen", cid: "bafyqwen", size: 600e6 }] });
    // After a restart the record still counts: a second 600 MB model no longer fits 1 GB.
    const held = new Map([["qwen", SHA]]);
    const second = row({ name: "gemma", cid: "bafyqwen", size: 600e6 });
    const again = rehosting({ rows: [second], self: first, ledger, held });
    expect((await again.r.check())[0]).toMatchObject({ action: "skip", reason: expect.stringContaining("budget") });
    // A rehosted model removed by hand frees its share.
    held.delete("qwen");
    expect(again.r.describe().usedBytes).toBe(0);
    expect((await again.r.check())[0]!.action).toBe("pull");
  });

  it("counts only verified providers where the claims alone reach the target", async () => {
    const first = order("bafyqwen", agents.slice(2))[0]!;
    const claimed = [provider(agents[0]!), provider(agents[1]!)];
    const honestOnly = [provider(agents[0]!, { verified: true }), provider(agents[1]!, { verified: false, reason: "did not serve the block" })];
    const { r, pull, verifiedProviders } = rehosting({ rows: [row({ providers: claimed })], self: first, verified: honestOnly });
    const [d] = await r.check();
    expect(verifiedProviders).toHaveBeenCalledWith("bafyqwen");
    expect(d).toMatchObject({ action: "pull" });
    expect(pull).toHaveBeenCalledTimes(1);
    // Both verified: nothing to do.
    const fine = rehosting({ rows: [row({ providers: claimed })], self: first, verified: claimed.map((p) => ({ ...p, verified: true })) });
    expect(await fine.r.check()).toEqual([]);
    expect(fine.pull).not.toHaveBeenCalled();
  });

  it("keeps the waiting ones in its view, and a pull that fails is tried again at the next check", async () => {
    const ranked = order("bafyqwen", agents.slice(1));
    const waiter = rehosting({ rows: [row()], self: ranked[2]! });
    await waiter.r.check();
    expect(waiter.r.describe().waiting).toEqual([{ name: "qwen", cid: "bafyqwen", rank: 2, turn: 1 }]);
    const failing = rehosting({ rows: [row()], self: ranked[0]! });
    failing.pull.mockRejectedValueOnce(new Error("no provider answered"));
    await failing.r.check();
    expect(failing.r.describe().models).toEqual([]);
    await failing.r.check();
    expect(failing.pull).toHaveBeenCalledTimes(2);
    expect(failing.r.describe().models.map((m) => m.name)).toEqual(["qwen"]);
  });
});
